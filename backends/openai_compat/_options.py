"""Option checks: a wrongly typed or out-of-range option becomes one ConfigurationError line naming it.

The checks are shared by every backend (:mod:`audiointeract.options`); this module keeps
the names the HTTP backends import.
"""

from __future__ import annotations

from audiointeract.options import flag, integer, number, optional_text, text

__all__ = ["flag", "integer", "number", "optional_text", "text"]
