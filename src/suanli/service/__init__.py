"""Layer 3: use cases that tie the decision core to storage and engines."""
