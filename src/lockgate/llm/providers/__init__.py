"""lockgate llm.providers."""
