"""Tenken (点検): road and drone imagery to findings on a map."""

__version__ = "0.1.0"
