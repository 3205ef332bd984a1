"""The sandbox's cover images: a real 640x640 baseline JPEG, distinct per album.

The picture is one committed file (``cover.jpg``); a JPEG comment segment naming
the image id goes right after its start marker, so each album's cover has its
own bytes (and a test can tell which album a file's embedded cover came from).
"""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

_PICTURE = Path(__file__).with_name("cover.jpg")
_START_OF_IMAGE = b"\xff\xd8"
_COMMENT = b"\xff\xfe"


@cache
def _picture() -> bytes:
    return _PICTURE.read_bytes()


def cover_jpeg(image_id: str) -> bytes:
    """The JPEG TIDAL's image server would send for ``image_id``."""
    picture = _picture()
    text = f"sandbox cover {image_id}".encode()
    segment = _COMMENT + struct.pack(">H", len(text) + 2) + text
    return _START_OF_IMAGE + segment + picture[len(_START_OF_IMAGE) :]
