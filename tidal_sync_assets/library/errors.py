"""How a failure is told in an outcome or a warning: one line, no traceback."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """``exc`` as ``Type: first line of its message``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
