"""Provenance of an output: each input file with its size, modification time and SHA-256, and
the version of each loss product.

Digests of big files are cached in a small JSON file (:func:`cache_path`), by path and the file's
:func:`identity` — size, modification time, and the inode and its change time, which every write
of the content updates and which no copy (``cp -p``, a restored backup, ``touch``) can set back —
so a rerun over the same 10 GB of rasters does not read them again, and a file whose content
changed is always hashed anew.

:func:`watch` notes the identity of each input before the work reads it, and :func:`changed` tells
afterwards which were replaced or rewritten meanwhile: a run whose figures could mix two versions
of a file is refused rather than published with the digest of the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InputError
from ..i18n import tr
from .outputs import update_json

log = logging.getLogger(__name__)

#: Files smaller than this are hashed every time (cheaper than the cache).
CACHE_MIN_BYTES = 1 << 20
#: Entries kept in the cache file (the most recently used).
CACHE_MAX_ENTRIES = 20_000
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|/vsi)", re.IGNORECASE)
_HANSEN_RELEASE = re.compile(r"GFC-?(\d{4})-(v\d+(?:\.\d+)*)", re.IGNORECASE)


def cache_dir() -> Path:
    """The user cache of cacao-screen: ``$CACAO_SCREEN_CACHE``, else ``$XDG_CACHE_HOME/cacao-screen``
    (``~/.cache`` when unset)."""
    root = os.environ.get("CACAO_SCREEN_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "cacao-screen"


def cache_path() -> Path:
    """The digest cache: ``sha256.json`` in :func:`cache_dir`."""
    return cache_dir() / "sha256.json"


def identity(st: os.stat_result) -> tuple[int, ...]:
    """What tells one state of a file from another without reading it: size, modification time,
    inode change time (ns) and inode. A write of the content, or a file renamed over it, changes it;
    copies that keep the modification time (``cp -p``, ``rsync -t``, a restored backup) do not keep
    the change time."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def watch(paths: Iterable[str | Path]) -> dict[str, tuple]:
    """The :func:`identity` of each local file of ``paths`` now (URLs are left out)."""
    out = {}
    for path in paths:
        text = str(path)
        if _URL.match(text):
            continue
        try:
            out[text] = identity(os.stat(text))
        except OSError:
            out[text] = ()
    return out


#: The identity of each raster file when this process opened it (see :func:`remember`).
_OPENED: dict[str, tuple] = {}


def remember(path: str | Path, *, first: bool = False) -> None:
    """Note the :func:`identity` of a file as it is opened for reading (``first``: keep the one
    noted earlier, when the file was opened before in this run). :func:`file_record` refuses a file
    that is no longer the one read."""
    text = str(path)
    if _URL.match(text) or (first and text in _OPENED):
        return
    try:
        _OPENED[text] = identity(os.stat(text))
    except OSError:
        pass


def changed(seen: dict[str, tuple]) -> list[str]:
    """The files of ``seen`` (:func:`watch`) whose identity is not the same any more."""
    out = []
    for path, before in seen.items():
        try:
            now = identity(os.stat(path))
        except OSError:
            now = ()
        if now != before:
            out.append(path)
    return out


class DigestCache:
    """SHA-256 digests by absolute path and :func:`identity`, read from and saved to ``path``."""

    def __init__(self, path: Path | None = None):
        self.path = cache_path() if path is None else Path(path)
        self.entries: dict[str, list] = {}
        self.hashed = 0  # files read in full by this cache (for tests and logs)
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self.entries = {k: v for k, v in data.items() if _entry(v)}
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: start afresh

    def digest(self, path: Path) -> str:
        st = path.stat()
        key = str(path.resolve())
        now = list(identity(st))
        if st.st_size >= CACHE_MIN_BYTES:
            hit = self.entries.get(key)
            if hit is not None and hit[:4] == now:
                self.entries[key] = self.entries.pop(key)  # most recently used last
                return str(hit[4])
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        self.hashed += 1
        value = h.hexdigest()
        if st.st_size >= CACHE_MIN_BYTES:
            self.entries.pop(key, None)
            self.entries[key] = [*now, value]
            self.changed = True
        return value

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written only costs hashing again."""
        if not self.changed:
            return

        def merge(current: dict) -> dict:  # another run's entries since we read the file are kept
            both = {k: v for k, v in current.items() if _entry(v) and k not in self.entries}
            both.update(self.entries)
            return dict(list(both.items())[-CACHE_MAX_ENTRIES:])

        if update_json(self.path, merge):
            self.changed = False


def _entry(value: object) -> bool:
    """A cache entry of this version: the four numbers of :func:`identity` and the digest."""
    return isinstance(value, list) and len(value) == 5 and isinstance(value[4], str)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative(path: str | Path, base: Path) -> str:
    """``path`` relative to ``base`` (with ``..`` where needed); URLs as they are."""
    text = str(path)
    if _URL.match(text):
        return text
    try:
        return os.path.relpath(os.path.abspath(text), os.path.abspath(base))
    except ValueError:  # another drive (Windows)
        return os.path.abspath(text)


def file_record(path: str | Path, base: Path, cache: DigestCache, role: str) -> dict:
    """What identifies one input: its role, path relative to ``base``, size, mtime, SHA-256."""
    text = str(path)
    record: dict = {"role": role, "path": relative(text, base)}
    if _URL.match(text):
        return record
    p = Path(text)
    try:
        st = p.stat()
        if text in _OPENED and identity(st) != _OPENED[text]:
            raise InputError(
                tr(
                    "{path}: changed while the run read it (replaced or rewritten since it was opened); the figures "
                    "could mix two versions of the file, and the provenance would record the digest of the other — "
                    "nothing was published; rerun once the file is in place",
                    path=text,
                )
            )
        record.update(size=st.st_size, mtime_utc=_iso(st.st_mtime), sha256=cache.digest(p))
    except OSError as exc:
        record["error"] = exc.strerror or str(exc)
    return record


def input_records(files: Iterable[tuple[str, str | Path]], base: Path, cache: DigestCache | None = None) -> list[dict]:
    """A record per (role, path) (see :func:`file_record`), each file once; saves the cache."""
    cache = DigestCache() if cache is None else cache
    seen = set()
    out = []
    for role, path in files:
        key = os.path.abspath(str(path)) if not _URL.match(str(path)) else str(path)
        if key in seen:
            continue
        seen.add(key)
        out.append(file_record(path, base, cache, role))
    cache.save()
    return out


def product_version(files: Iterable[str]) -> str:
    """The release of a product, from its file names (Hansen ``GFC-2024-v1.12``) or the tags of its
    first file (the synthetic sample says so); ``unknown`` otherwise."""
    files = list(files)
    releases = sorted({f"GFC-{m.group(1)}-{m.group(2)}" for f in files if (m := _HANSEN_RELEASE.search(Path(f).name))})
    if releases:
        return "Hansen Global Forest Change " + ", ".join(releases)
    if files:
        try:
            import rasterio

            with rasterio.open(files[0]) as src:
                tags = src.tags()
            if str(tags.get("SYNTHETIC", "")).lower() == "yes":
                return f"synthetic ({tags.get('GENERATOR', 'generated')}, seed {tags.get('SEED', '?')}): not real data"
            for key in ("VERSION", "PRODUCT_VERSION", "version"):
                if tags.get(key):
                    return str(tags[key])
        except Exception:  # noqa: BLE001 - the version is informative; never fail a run for it
            pass
    return "unknown"


def provenance_digest(metadata: dict[str, str]) -> str:
    """The digest of a run's provenance (its ``run_metadata``: inputs with their SHA-256, command,
    configuration, times): SHA-256 of its keys and values as sorted JSON, ``sha256:<hex>``. A file
    made from a screening (an export, a review) names the screening it came from by it."""
    text = json.dumps({str(k): str(v) for k, v in metadata.items()}, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
