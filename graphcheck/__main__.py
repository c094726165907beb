"""Entry point for ``python -m graphcheck``."""

from __future__ import annotations

from graphcheck.cli import main

main()
