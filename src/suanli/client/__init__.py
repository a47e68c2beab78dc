"""Layer 5: the typed HTTP client (Python SDK) over the REST API."""

from suanli.client.http import ApiError, SuanliClient

__all__ = ["ApiError", "SuanliClient"]
