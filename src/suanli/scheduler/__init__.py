"""Layer 1: the decision core. Snapshots in, decisions (with reasons) out; no I/O."""
