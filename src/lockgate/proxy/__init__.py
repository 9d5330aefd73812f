"""lockgate proxy."""
