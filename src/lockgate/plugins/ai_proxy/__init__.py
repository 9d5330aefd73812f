"""ai-proxy: any client format to any LLM provider."""
