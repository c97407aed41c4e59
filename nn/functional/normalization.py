"""Placeholder: filled in by the nn work in progress."""
__all__ = []
