"""lockgate config."""
