"""Layer 5: the simulator faces (trace replay through the same core)."""
