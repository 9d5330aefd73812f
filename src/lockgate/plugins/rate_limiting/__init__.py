"""rate-limiting: Kong's open-source request limits per period."""
