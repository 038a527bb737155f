"""Whether a file is something cacao-screen wrote, so that it may be replaced (never another's file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def is_own_output(path: str | Path) -> bool:
    """Whether the file ``path`` is something cacao-screen wrote: a GeoPackage whose ``run_metadata``
    names cacao-screen as its generator, or a CSV of quality-control findings (a folder:
    :func:`pipeline.io.atomic.check_own_folder`)."""
    path = Path(path)
    if path.is_dir():
        return False
    if path.suffix.lower() == ".csv":
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.readline().strip() == "plot_id,source_row,code,severity,message"
        except OSError:
            return False
    try:
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return False
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM run_metadata WHERE key = 'generator'").fetchone()
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False
    return row is not None and str(row[0]).startswith("cacao-screen")
