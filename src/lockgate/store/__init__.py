"""lockgate store."""
