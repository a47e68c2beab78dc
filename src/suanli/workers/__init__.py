"""Layer 4: the long-running loops of the control plane."""
