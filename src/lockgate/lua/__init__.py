"""lockgate lua."""
