"""The sample's destination (``cacao-screen sample``): checked before the work, locked while it is
written, and replaced only when cacao-screen wrote everything in it (the sample itself is made by
:mod:`pipeline.sample`, which imports nothing else of the package)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..i18n import N_
from ..io.atomic import check_folder_target, replace_dir
from ..io.outputs import guard

#: The files of a sample folder written before folders carried a marker (see :mod:`pipeline.io.atomic`).
SAMPLE_LEGACY = re.compile(r"^(?:\.complete|README\.md|[\w.-]+\.(?:gpkg|tif|csv)|tiles/|alerts/)$")


@contextmanager
def sample_destination(out: Path, overwrite: bool) -> Iterator[Callable[[Path, Path], None]]:
    """Check ``out`` (exit 2: it exists without ``overwrite`` — an empty folder is fine —, it holds
    a file cacao-screen did not write, it is the current folder...), lock it for the block, and yield
    the function that publishes the finished sample onto it."""
    empty = out.is_dir() and not out.is_symlink() and not any(out.iterdir())
    check_folder_target(out, overwrite or empty, what=N_("sample"), legacy=SAMPLE_LEGACY)
    with guard([out]):
        yield lambda staged, target: replace_dir(staged, target, what=N_("sample"), legacy=SAMPLE_LEGACY)
