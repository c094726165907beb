"""Tests; see docs/architecture.md for how the folders follow the code."""
