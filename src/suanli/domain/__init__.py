"""Layer 0: the platform's types and rules; standard library and pydantic only."""
