"""Built-in backends.

Importing this package imports no backend; load them by name through
:mod:`audiointeract.registry` or import the submodule you need.
"""

from __future__ import annotations

__all__: list[str] = []
