"""The installed relvec version (a module of its own, so any floor can read it)."""

__version__ = "0.1.0"
