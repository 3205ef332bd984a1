"""Where things live in the library, and the guard that keeps every write inside it.

This module owns the library's fixed names (``Playlists``, ``.tidal-sync``, the
trash, the cover cache, the temporary-file prefix) and the one way a path given to a writing
function becomes an absolute path: :meth:`LibraryPaths.resolve`.

A path is given either as a ``str`` — POSIX, relative to the library root, the
form the database stores — or as an absolute :class:`~pathlib.Path`. Resolution
refuses, with :class:`OutsideLibraryRoot`:

- absolute strings (a stored path is always root-relative),
- any ``..`` component, in either form (never needed, easy to abuse),
- the root itself (nothing replaces or removes the root),
- any target whose parent folder, once symlinks are followed, is not the root
  or below it (a symlinked ``Playlists`` or playlist folder pointing elsewhere).

The last component is deliberately *not* followed: the product replaces a link
by renaming onto its name, which never writes through it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PLAYLISTS_DIR = "Playlists"
INTERNAL_DIR = ".tidal-sync"
TRASH_DIR = f"{INTERNAL_DIR}/trash"
LOCKS_DIR = f"{INTERNAL_DIR}/locks"
COVERS_DIR = f"{INTERNAL_DIR}/covers"
#: Every temporary file the product writes starts with this; the scanner skips it.
TEMP_PREFIX = ".tidal-sync-tmp-"

#: What a path argument may be: a root-relative POSIX ``str`` or an absolute ``Path``.
PathArg = str | Path


class OutsideLibraryRoot(ValueError):
    """A path would land outside the library root; nothing was written."""

    def __init__(self, path: PathArg, root: Path, why: str) -> None:
        super().__init__(f"refusing {str(path)!r}: {why} (library root: {root})")
        self.path = path
        self.root = root


class LibraryRootMissing(FileNotFoundError):
    """The library root does not exist (an unmounted drive?); it is never created."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            f"library root {root} does not exist or is not a folder; create it (or mount "
            "the drive) and set TIDAL_SYNC_LIBRARY_ROOT to it"
        )
        self.root = root


@dataclass(frozen=True, slots=True)
class LibraryPaths:
    """The library root, with symlinks in the root's own path resolved once."""

    root: Path

    def __init__(self, root: Path) -> None:
        object.__setattr__(self, "root", Path(os.path.realpath(root)))

    @property
    def playlists(self) -> Path:
        return self.root / PLAYLISTS_DIR

    @property
    def internal(self) -> Path:
        return self.root / INTERNAL_DIR

    @property
    def trash(self) -> Path:
        return self.root / TRASH_DIR

    def require_root(self) -> None:
        """Raise :class:`LibraryRootMissing` unless the root is an existing folder."""
        if not self.root.is_dir():
            raise LibraryRootMissing(self.root)

    def resolve(self, path: PathArg) -> Path:
        """The absolute path for ``path``, its parent folder's symlinks resolved.

        Raises :class:`OutsideLibraryRoot` for anything that is not strictly
        inside the root (see the module docstring).
        """
        if isinstance(path, str):
            pure = PurePosixPath(path)
            if pure.is_absolute():
                raise OutsideLibraryRoot(
                    path, self.root, "an absolute path where a root-relative one belongs"
                )
            parts = pure.parts
        elif path.is_absolute():
            parts = path.parts
        else:
            raise OutsideLibraryRoot(
                path, self.root, "a relative Path; pass a str for root-relative paths"
            )
        if ".." in parts:
            raise OutsideLibraryRoot(path, self.root, "'..' is not allowed")
        candidate = self.root.joinpath(*parts) if isinstance(path, str) else Path(*parts)
        if candidate == self.root or not candidate.name:
            raise OutsideLibraryRoot(path, self.root, "the library root itself")
        parent = Path(os.path.realpath(candidate.parent))
        if parent != self.root and not parent.is_relative_to(self.root):
            raise OutsideLibraryRoot(path, self.root, f"its folder resolves to {parent}")
        return parent / candidate.name

    def relative(self, path: PathArg) -> str:
        """The root-relative POSIX form of ``path`` (after :meth:`resolve`)."""
        return self.resolve(path).relative_to(self.root).as_posix()

    def make_parents(self, target: Path) -> None:
        """Create the folders above an already resolved ``target``, never the root itself."""
        self.require_root()
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkdir may have walked through a symlink created meanwhile: check again.
        self.resolve(target)
