"""Provenance of an output: each input file with its size, modification time and SHA-256, and
the version of each loss product.

Digests of big files are cached by path, size and modification time in a small JSON file
(:func:`cache_path`), so a rerun over the same 10 GB of rasters does not read them again; a file
whose size or time changed is hashed anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

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


class DigestCache:
    """SHA-256 digests by (absolute path, size, mtime in ns), read from and saved to ``path``."""

    def __init__(self, path: Path | None = None):
        self.path = cache_path() if path is None else Path(path)
        self.entries: dict[str, list] = {}
        self.hashed = 0  # files read in full by this cache (for tests and logs)
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self.entries = {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 3}
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: start afresh

    def digest(self, path: Path) -> str:
        st = path.stat()
        key = str(path.resolve())
        if st.st_size >= CACHE_MIN_BYTES:
            hit = self.entries.get(key)
            if hit is not None and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
                self.entries[key] = self.entries.pop(key)  # most recently used last
                return str(hit[2])
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        self.hashed += 1
        value = h.hexdigest()
        if st.st_size >= CACHE_MIN_BYTES:
            self.entries.pop(key, None)
            self.entries[key] = [st.st_size, st.st_mtime_ns, value]
            self.changed = True
        return value

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written only costs hashing again."""
        if not self.changed:
            return
        keep = dict(list(self.entries.items())[-CACHE_MAX_ENTRIES:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sha256.", suffix=".json", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(keep, f)
            os.replace(tmp, self.path)
            self.changed = False
        except OSError as exc:
            log.debug("cannot save the digest cache %s (%s)", self.path, exc)


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
