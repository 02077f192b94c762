"""Canopy: decide before agents act, and keep evidence nobody can quietly rewrite."""

__version__ = "0.5.0"
__all__ = ["__version__"]
