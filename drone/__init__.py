"""drone package."""
