"""Layer 6: the `suanli` command line (Typer + Rich); the only place that prints."""
