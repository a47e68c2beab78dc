"""The operations console: server-rendered pages (Jinja2 + htmx) over the REST API."""
