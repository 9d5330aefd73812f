"""lockgate plugins."""
