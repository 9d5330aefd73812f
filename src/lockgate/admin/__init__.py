"""lockgate admin."""
