"""Atomic replacement of output folders, shared by the writers of folders (CSV copies, exports, reports)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .outputs import deferred_signals, temp_prefix


def replace_dir(staged: Path, target: Path) -> None:
    """Rename the finished folder ``staged`` onto ``target``, replacing it.

    ``target`` is always the old folder or the new one, never half of each: the old one is first
    moved aside into a hidden sibling (``.NAME.<pid>.*.tmp-old``, which a later run removes if this
    one is killed), the new one renamed in, and the old one removed; if the second rename fails,
    the old folder is put back.
    """
    with deferred_signals():  # Ctrl-C or SIGTERM between the two renames would leave no folder
        if not target.exists():
            os.replace(staged, target)
            return
        trash = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=".tmp-old", dir=target.parent))
        os.replace(target, trash / target.name)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(trash / target.name, target)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
