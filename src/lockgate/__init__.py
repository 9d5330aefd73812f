"""lockgate: an AI gateway that speaks Kong's configuration language."""

__version__ = "0.1.0"

__all__ = ["__version__"]
