"""lockgate testing."""
