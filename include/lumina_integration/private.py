"""Local state readable by its owner only: folders 0700, files 0600.

The state folder (``.lumina/``: the Airflow home with its metadata DB and connections, the DuckDB
warehouse, the SAP sample, the sandboxes' credentials) holds personal data and secrets. A umask of 022
would leave all of it world-readable on a shared machine, so every place that creates state goes
through here (the Makefile's state targets also run under ``umask 077``).

Only folders this code creates, and the leaf it is given, are tightened: ``/tmp`` or a home directory
above the state folder is never touched.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing ``path`` owned by this user becomes 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=DIR_MODE)
        _tighten(folder, DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file owned by this user 0600 (a file a library created under the umask)."""
    if path.exists():
        _tighten(path, FILE_MODE)
    return path


def private_tree(root: Path) -> int:
    """Tighten every folder and file under ``root`` owned by this user; returns how many changed.

    For state created before this rule (an older checkout's ``.lumina/``) and files libraries write
    with the umask (Airflow's SQLite DB and logs, DuckDB's file).
    """
    changed = 0
    if not root.exists():
        return 0
    for current, folders, files in os.walk(root):
        changed += _tighten(Path(current), DIR_MODE)
        for name in files:
            changed += _tighten(Path(current) / name, FILE_MODE)
        folders[:] = [f for f in folders if not (Path(current) / f).is_symlink()]
    return changed


def _tighten(path: Path, mode: int) -> int:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return 0
    current = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or current & 0o077 == 0:
        return 0
    # Group and others lose everything; the owner keeps what it had (an executable stays executable).
    os.chmod(path, current & (0o700 if stat.S_ISDIR(info.st_mode) else mode | (current & 0o100)))
    return 1
