"""key-auth: identify consumers by an API key."""
