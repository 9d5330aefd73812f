"""LLM wire formats, providers, SSE framing and usage accounting."""
