"""The gateway: OpenAI-compatible `/v1/*` and `/services/{owner}/{name}/...` in front of replicas."""
