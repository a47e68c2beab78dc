"""Layer 2: execution-engine adapters behind one protocol (local today; Slurm, Ray next)."""
