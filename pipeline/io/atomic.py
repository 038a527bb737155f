"""Output folders (the EUDR export, the baseline's CSV copies, the report's pages): replaced by one
rename, and only when cacao-screen wrote them.

Every folder cacao-screen writes holds a marker file, :data:`MARKER`, listing the files it wrote
there. ``--overwrite`` replaces a folder only when it holds the marker and nothing but the files
the marker lists (:func:`check_own_folder`); anything else (a user's ``thesis.txt``, a folder that
is not ours) is refused with exit 2, naming the first foreign file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError
from ..i18n import N_, _, tr
from .outputs import check_folder, check_not_input, deferred_signals, temp_prefix

#: The marker file cacao-screen writes in every output folder: a first line saying what it is,
#: then the name of every file cacao-screen wrote in the folder, one a line.
MARKER = ".cacao-screen-output"
_MARKER_HEAD = "cacao-screen output folder; the files it wrote here:"


def write_marker(folder: Path) -> None:
    """Write :data:`MARKER` in ``folder``, listing every file now in it."""
    with os.scandir(folder) as it:
        names = sorted(e.name for e in it if e.name != MARKER)
    with open(folder / MARKER, "x", encoding="utf-8") as f:
        f.write("\n".join([_MARKER_HEAD, *names]) + "\n")


def _marked_names(folder: Path) -> set[str] | None:
    """The names the marker of ``folder`` lists; None when it has no marker (or not ours)."""
    marker = folder / MARKER
    try:
        if marker.is_symlink() or not marker.is_file():
            return None
        lines = marker.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not lines or lines[0] != _MARKER_HEAD:
        return None
    return {*lines[1:], MARKER}


def foreign_file(folder: Path, legacy: re.Pattern | None = None) -> str | None:
    """The first entry of ``folder`` (sorted by name) that cacao-screen did not write there, or
    None. The marker lists files and folders (never a link). Without a marker, a folder written by an
    older version is recognised by ``legacy``, which every entry's name must match (a folder's with
    a trailing ``/``); an empty folder holds nothing foreign."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    names = _marked_names(folder)
    for entry in entries:
        is_dir = entry.is_dir(follow_symlinks=False)
        plain = entry.is_file(follow_symlinks=False) or is_dir  # never a link
        if names is not None and plain and entry.name in names:
            continue
        if names is None and plain and legacy is not None and legacy.match(entry.name + ("/" if is_dir else "")):
            continue
        return entry.name
    return None


def check_own_folder(folder: Path, what: str, legacy: re.Pattern | None = None) -> None:
    """Refuse (exit 2) to replace ``folder`` unless cacao-screen wrote everything in it."""
    if folder.is_symlink() or not folder.is_dir():
        raise OutputError(
            tr(
                "{folder}: exists and is not a folder; the {what} is a folder — choose another path",
                folder=folder,
                what=_(what),
            )
        )
    try:
        foreign = foreign_file(folder, legacy)
    except OSError as exc:
        raise OutputError(tr("{folder}: cannot list the folder ({error})", folder=folder, error=exc.strerror)) from exc
    if foreign is not None:
        raise OutputError(
            tr(
                "{folder}: holds {foreign}, which cacao-screen did not write; refusing to replace the folder "
                "(the {what}) — choose another path, or move the file away yourself",
                folder=folder,
                foreign=foreign,
                what=_(what),
            )
        )


def check_busy(folder: Path, what: str) -> None:
    """Refuse (exit 2) a folder output that cannot be swapped by a rename: the current folder or one
    holding it, the root, a mount point."""
    full = Path(os.path.abspath(folder))
    cwd = Path(os.getcwd())
    if full == cwd or full in cwd.parents or full == full.parent or os.path.ismount(full):
        raise OutputError(
            tr(
                "{folder}: is the current folder, one holding it or a mount point; the {what} replaces its "
                "folder whole — give it a folder of its own (a new name such as eudr/)",
                folder=folder,
                what=_(what),
            )
        )


def replace_dir(
    staged: Path, target: Path, *, what: str = N_("output folder"), legacy: re.Pattern | None = None
) -> None:
    """Mark the finished folder ``staged`` (:func:`write_marker`) and rename it onto ``target``,
    replacing it — only if cacao-screen wrote everything in the old one (checked again here:
    the folder may have changed since the checks before the work).

    ``target`` is always the old folder or the new one, never half of each: the old one is first
    moved aside into a hidden sibling (``.NAME.<pid>.*.tmp-old``, which a later run removes if this
    one is killed), the new one renamed in, and the old one removed; if the second rename fails,
    the old folder is put back.
    """
    write_marker(staged)
    with deferred_signals():  # Ctrl-C or SIGTERM between the two renames would leave no folder
        if not (target.exists() or target.is_symlink()):
            os.replace(staged, target)
            return
        check_own_folder(target, what, legacy)
        trash = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=".tmp-old", dir=target.parent))
        os.replace(target, trash / target.name)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(trash / target.name, target)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)


def remove_own_dir(folder: Path, what: str, legacy: re.Pattern | None = None) -> None:
    """Remove ``folder`` (an older output's) if cacao-screen wrote everything in it; refuse otherwise."""
    if not (folder.exists() or folder.is_symlink()):
        return
    check_own_folder(folder, what, legacy)
    shutil.rmtree(folder)


def check_folder_target(
    folder: str | Path,
    overwrite: bool,
    *,
    what: str,
    inputs: Iterable[tuple[str, str | Path | None]] = (),
    legacy: re.Pattern | None = None,
) -> Path:
    """Everything about a folder output that can be checked before the work (exit 2 otherwise): it
    is not, and does not hold, an input; it is not a busy path (:func:`check_busy`); it does not exist
    (or ``overwrite``, and then only a folder cacao-screen wrote is replaced: :func:`check_own_folder`);
    its parent exists or can be made and is writable."""
    folder = Path(folder)
    check_not_input(folder, inputs)
    check_busy(folder, what)
    if folder.exists() or folder.is_symlink():
        if not overwrite:
            raise OutputError(tr("{path}: output already exists; pass --overwrite to replace it", path=folder))
        check_own_folder(folder, what, legacy)
    check_folder(folder.parent, what)
    return folder
