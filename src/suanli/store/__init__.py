"""Layer 2: persistence behind repository protocols (SQLite by default, PostgreSQL later)."""
