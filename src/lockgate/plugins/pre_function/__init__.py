"""pre-function and post-function: Lua snippets per phase (Kong's serverless plugins)."""
