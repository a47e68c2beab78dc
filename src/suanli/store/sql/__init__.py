"""SQLAlchemy 2 implementation of the stores, with Alembic migrations."""
