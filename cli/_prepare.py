"""Prepare model files that come from PyPI wheels (run by ``scripts/setup.sh``; idempotent)."""

from __future__ import annotations


def main() -> None:
    """Run every preparation step the installed extras need."""


if __name__ == "__main__":
    main()
