"""Layer 1: text formats (spec, fleet and catalog files) and wire models of the API."""
