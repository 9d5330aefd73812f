"""lockgate cli."""
