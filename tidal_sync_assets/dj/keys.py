"""Musical keys: TIDAL's spelling in, classic (``Am``, ``F#``) or Camelot (``8A``) out.

TIDAL's JSON names a key's root (``C``, ``CSharp``, ``Eb``, ``FSharp``, ...)
and its scale (``MAJOR``, ``MINOR``, or a mode DJ software has no notation
for). The database keeps the classic form; the tags and the XML show it in
the notation the user chose.
"""

from __future__ import annotations

from typing import Literal

KeyNotation = Literal["classic", "camelot"]
KEY_NOTATIONS: tuple[KeyNotation, ...] = ("classic", "camelot")

_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SCALES = {"MAJOR": "", "MINOR": "m"}


def classic_key(root: str | None, scale: str | None) -> str | None:
    """TIDAL's ``key`` and ``keyScale`` as a classic key (``F#m``); None when unknown."""
    if not root or not scale or scale.upper() not in _SCALES:
        return None
    name = root.strip().replace("Sharp", "#").replace("Flat", "b")
    if _pitch_class(name) is None:
        return None
    return name + _SCALES[scale.upper()]


def in_notation(key: str | None, notation: KeyNotation) -> str | None:
    """A classic key (``Am``) in ``notation``; None when there is no key."""
    if key is None or notation == "classic":
        return key
    minor = key.endswith("m")
    pitch = _pitch_class(key[:-1] if minor else key)
    if pitch is None:
        return None
    # The circle of fifths: C major is 8B, each fifth up is one more; a minor
    # key sits at the number of its relative major (three semitones up).
    major = (pitch + 3) % 12 if minor else pitch
    number = (major * 7 + 7) % 12 + 1
    return f"{number}{'A' if minor else 'B'}"


def _pitch_class(name: str) -> int | None:
    if not name or name[0] not in _PITCH_CLASS:
        return None
    accidental = name[1:]
    shift = {"": 0, "#": 1, "b": -1}.get(accidental)
    if shift is None:
        return None
    return (_PITCH_CLASS[name[0]] + shift) % 12
