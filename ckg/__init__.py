"""Cross-cutting pieces shared by every ckg package: errors, settings, atomic writes."""

__version__ = "0.1.0"
