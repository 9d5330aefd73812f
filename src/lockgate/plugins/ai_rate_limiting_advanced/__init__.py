"""ai-rate-limiting-advanced: Kong's token, cost and prompt limits per LLM provider."""
