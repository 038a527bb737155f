"""Downloading raster tiles over HTTP(S): resumable, retried, verified, never half-written.

:func:`download` writes to ``<name>.part`` beside the target and renames it into place only once
the size matches what the server announced, the MD5 matches where the server publishes one
(Google Cloud Storage's ``x-goog-hash`` or ``Content-MD5``), and the file opens as a raster whose
first and last blocks read. An interrupted transfer resumes from the ``.part`` file with an HTTP
``Range`` request; failures are retried with exponential back-off.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import CacaoScreenError, OutputError
from ..i18n import N_, _, tr
from .outputs import OutputLock, open_private, rename_into

log = logging.getLogger(__name__)

CHUNK = 1 << 20
#: How long a download waits for another run fetching the same file (seconds).
LOCK_WAIT_S = 3600.0
USER_AGENT = "cacao-screen (+https://github.com/cacao-screen)"


class FetchError(CacaoScreenError, OSError):
    """A file could not be downloaded intact (exit code 1: the network or server, not the user)."""


@dataclass
class FetchResult:
    url: str
    path: Path
    status: str  # 'downloaded', 'present'
    size: int
    attempts: int = 0


def _md5_from_headers(headers) -> str | None:
    """The object's MD5 (hex) from ``x-goog-hash: crc32c=..., md5=<base64>`` or ``Content-MD5``."""
    for value in headers.get_all("x-goog-hash") or []:
        for part in value.split(","):
            key, _, b64 = part.strip().partition("=")
            if key == "md5":
                return base64.b64decode(b64 + "==="[: (4 - len(b64) % 4) % 4]).hex()
    if headers.get("Content-MD5"):
        return base64.b64decode(headers["Content-MD5"]).hex()
    return None


def _md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _default_validate(path: Path) -> None:
    """The file must open as a raster and its first and last blocks must read."""
    import rasterio

    from .rasters import _check_pixels

    try:
        with rasterio.open(path) as src:
            _check_pixels(src, str(path), "downloaded")
    except Exception as exc:  # noqa: BLE001 - any failure means a bad file
        raise FetchError(
            tr("{path}: the downloaded file is not a readable raster ({error})", path=path, error=exc)
        ) from exc


def download(  # noqa: PLR0913 - issue 19 reworks the downloads (keys, symlinks): group the parameters then
    url: str,
    dest: str | Path,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = False,
    validate: Callable[[Path], None] | None = _default_validate,
    headers: dict[str, str] | None = None,
    replace: bool = False,
) -> FetchResult:
    """Download ``url`` to ``dest`` unless it is already there; see the module docstring.

    ``headers`` are sent with each request (an API key). ``replace`` downloads the file again
    even when ``dest`` exists (a product that changes under one address, such as ``latest``): a
    ``.part`` left by an earlier run is discarded, and ``dest`` is replaced only once the new file
    is complete and checked."""
    dest = Path(dest)
    if dest.exists() and not replace:
        return FetchResult(url, dest, "present", dest.stat().st_size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(dest, wait_s=LOCK_WAIT_S):  # another run fetching the same file: wait for it
        if dest.exists() and not replace:
            return FetchResult(url, dest, "present", dest.stat().st_size)
        fetch_once = functools.partial(_fetch_into, url, timeout=timeout, progress=progress, headers=headers)
        return _download_locked(url, dest, fetch_once, retries, backoff, validate, replace)


def _download_locked(url, dest, fetch_once, retries, backoff, validate, replace) -> FetchResult:
    """:func:`download`'s attempts, under the lock of ``dest``."""
    part = dest.with_name(dest.name + ".part")
    _check_part(part)
    if replace:
        part.unlink(missing_ok=True)  # it may hold yesterday's bytes of the same address
    last_error: Exception | None = None
    for attempt in range(1, retries + 2):
        try:
            size, md5 = fetch_once(part)
            if md5 is not None and _md5_of(part) != md5:
                part.unlink()
                raise _Retry("MD5 mismatch: the data received differs from what the server published")
            if validate is not None:
                try:
                    validate(part)
                except FetchError as exc:
                    part.unlink()
                    raise _Retry(str(exc)) from exc
            _check_part(part)
            rename_into(part, dest)
            log.info("downloaded %s (%d bytes)", dest, size)
            return FetchResult(url, dest, "downloaded", size, attempt)
        except _Fatal as exc:
            raise FetchError(f"{url}: {exc}") from None
        except (_Retry, urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            last_error = exc
            if attempt > retries:
                break
            wait = backoff * 2 ** (attempt - 1)
            log.warning(
                tr(
                    "{url}: attempt {n} failed ({error}); retrying in {wait:.1f} s",
                    url=url,
                    n=attempt,
                    error=exc,
                    wait=wait,
                )
            )
            time.sleep(wait)
    raise FetchError(
        tr(
            "{url}: failed after {attempts} attempts ({error}); the partial file {part} is kept to resume",
            url=url,
            attempts=retries + 1,
            error=last_error,
            part=part,
        )
        if part.exists()
        else tr(
            "{url}: failed after {attempts} attempts ({error}); nothing kept",
            url=url,
            attempts=retries + 1,
            error=last_error,
        )
    )


class _Retry(Exception):
    pass


class _Fatal(Exception):
    pass


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def _fetch_into(
    url: str, part: Path, *, timeout: float, progress: bool, headers: dict[str, str] | None = None
) -> tuple[int, str | None]:
    """One attempt: append to ``part`` from where it stops. Returns (total size, md5 or None)."""
    have = part.stat().st_size if part.is_file() and not part.is_symlink() else 0
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    for name, value in (headers or {}).items():  # an API key: for this host only, never sent on a redirect
        req.add_unredirected_header(name, value)
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send, or the part is bigger than the file
            total = _total_from_range(exc.headers.get("Content-Range", ""))
            if total is not None and total == have:
                return have, _md5_from_headers(exc.headers)
            part.unlink()
            raise _Retry("the partial file does not match the server's; starting again") from None
        if exc.code in (401, 403, 404, 410):
            raise _Fatal(f"HTTP {exc.code} {exc.reason} (is the version or base URL right?)") from None
        raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
    with resp:
        md5 = _md5_from_headers(resp.headers)
        if resp.status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                part.unlink(missing_ok=True)
                raise _Retry("the server resumed at the wrong offset; starting again")
            total = int(m.group(3)) if m.group(3) != "*" else None
            mode = "ab"
        else:  # 200: the whole file (the server ignored the range, or there was none)
            have = 0
            total = int(resp.headers["Content-Length"]) if resp.headers.get("Content-Length") else None
            mode = "wb"
        with (
            os.fdopen(_open_part(part, append=mode == "ab"), "ab") as f,
            tqdm(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                leave=False,
                desc=part.name[:-5],
                disable=not progress,
            ) as bar,
        ):
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Retry(f"received {size} of {total} bytes")
    return size, md5


def _open_part(part: Path, *, append: bool) -> int:
    """The ``.part`` file, opened without following a link (a link planted there is refused) and only
    if it is a regular file; emptied unless ``append``."""
    fd = open_private(part, N_("a partial download"))
    if not append:
        os.ftruncate(fd, 0)
    return fd


def _check_part(part: Path) -> None:
    """Refuse (exit 2) a ``.part`` name that is not a regular file: never written through, never renamed."""
    if part.is_symlink() or (part.exists() and not part.is_file()):
        raise OutputError(
            tr(
                "{part}: is a symbolic link or not a regular file where cacao-screen keeps a partial download; "
                "refusing to write through it — remove it (someone may have planted it)",
                part=part,
            )
        )


def key_headers(api_key: str | None, url: str, host_of_key: str) -> dict[str, str] | None:
    """The ``x-api-key`` header for ``url`` when its host is ``host_of_key``'s (the key's own host),
    else None: a key is never sent to another host."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if api_key and host and host == (urllib.parse.urlsplit(host_of_key).hostname or "").lower():
        return {"x-api-key": api_key}
    return None


def _total_from_range(value: str) -> int | None:
    m = re.match(r"bytes \*/(\d+)", value or "")
    return int(m.group(1)) if m else None


def fetch_hansen_tiles(  # noqa: PLR0913 - issue 19 reworks the downloads (keys, symlinks): group the parameters then
    bounds,
    *,
    version: str,
    layers: list[str],
    dest: str | Path,
    base_url: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    progress: bool = False,
    dry_run: bool = False,
) -> list[FetchResult]:
    """Download the Hansen tiles that lon/lat ``bounds`` (n, 4) touch, for each layer, into ``dest``.

    Files already in ``dest`` are kept (a file only ever appears there complete). Returns one
    result per file; with ``dry_run`` nothing is downloaded and missing files have status 'missing'.
    """
    from .tiles import HANSEN_BASE_URL, hansen_file_name, hansen_url, tiles_for_bounds

    dest = Path(dest)
    results = []
    tiles = tiles_for_bounds(bounds)
    todo = [(layer, tile) for tile in tiles for layer in layers]
    for layer, tile in tqdm(todo, desc=_("tiles"), unit=_("file"), disable=not progress or dry_run, leave=False):
        url = hansen_url(version, layer, tile, base_url or HANSEN_BASE_URL)
        path = dest / hansen_file_name(version, layer, tile)
        if dry_run:
            results.append(
                FetchResult(
                    url, path, "present" if path.exists() else "missing", path.stat().st_size if path.exists() else 0
                )
            )
            continue
        results.append(download(url, path, retries=retries, backoff=backoff, progress=progress))
    return results


def fetch_alert_tiles(  # noqa: PLR0913 - issue 19 reworks the downloads (keys, symlinks): group the parameters then
    bounds,
    *,
    product: str,
    version: str,
    dest: str | Path,
    api_key: str | None = None,
    base_url: str | None = None,
    url_template: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    progress: bool = False,
    dry_run: bool = False,
) -> list[FetchResult]:
    """Download the alert tiles that lon/lat ``bounds`` (n, 4) touch into ``dest``.

    ``product`` is a GFW alert product (:data:`~.tiles.GFW_ALERT_DATASETS`), fetched from GFW's
    Data API (``api_key`` sent as ``x-api-key``); or ``url_template`` gives each 10° tile's
    address (``{tile}`` = ``10S_080W``). With ``version`` ``latest`` the tiles are downloaded again
    on every run (the alerts change daily); other versions are kept once present."""
    from .tiles import (
        GFW_ALERT_DATASETS,
        GFW_DATA_API,
        gfw_alert_file_name,
        gfw_alert_url,
        template_file_name,
        template_url,
        tiles_for_bounds,
    )

    dest = Path(dest)
    # the key belongs to GFW's Data API (or the mirror of it named by base_url): never to a template's host
    host_of_key = base_url or GFW_DATA_API
    if api_key and url_template is not None:
        log.warning(
            tr(
                "the API key is not sent to {host}: it belongs to GFW's Data API ({key_host})",
                host=urllib.parse.urlsplit(url_template).hostname or url_template,
                key_host=host_of_key,
            )
        )
    replace = url_template is None and version == "latest"
    results = []
    for tile in tqdm(
        tiles_for_bounds(bounds), desc=_("tiles"), unit=_("file"), disable=not progress or dry_run, leave=False
    ):
        if url_template is not None:
            url, path = template_url(url_template, tile), dest / template_file_name(url_template, tile)
        else:
            dataset = GFW_ALERT_DATASETS[product]
            url = gfw_alert_url(dataset, version, tile, base_url or GFW_DATA_API)
            path = dest / gfw_alert_file_name(dataset, version, tile)
        if dry_run:
            size = path.stat().st_size if path.exists() else 0
            results.append(FetchResult(url, path, "present" if path.exists() else "missing", size))
            continue
        results.append(
            download(
                url,
                path,
                retries=retries,
                backoff=backoff,
                progress=progress,
                headers=key_headers(api_key, url, host_of_key),
                replace=replace,
            )
        )
    return results
