"""Layer 5: the REST API (FastAPI) over the service layer."""
