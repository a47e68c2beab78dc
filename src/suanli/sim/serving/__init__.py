"""Model-service simulation: LLM request traces against autoscaled replicas."""
