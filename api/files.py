"""Atomic file writes that leave ordinary files: readers see the whole file or none, with the umask's mode.

``tempfile.mkstemp`` creates 0600 files so that nobody can read a half-written scratch file; renamed into
place as it is, a results file or report would stay private to its writer. Results and reports are meant to
be shared (a team reading ``results/``), so once complete they get the mode ``open()`` would have given them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def give_umask_mode(path: str | Path) -> None:
    """Set ``path`` to 0666 minus the process umask, the mode of a file made by ``open(path, "w")``."""
    umask = os.umask(0)  # the only way to read the umask is to set it, so set it straight back
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_text_atomically(path: str | Path, text: str, *, private: bool = False) -> Path:
    """Write ``text`` next to ``path``, flush it to disk, then rename it over ``path``; nothing is left
    behind if this fails or is interrupted. Creates the parent directory. ``private`` keeps mkstemp's 0600
    (a file holding a secret, such as the local stack's API key) instead of the umask's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if not private:
            give_umask_mode(scratch)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return path
