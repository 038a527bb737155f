"""Where outputs go, safely: checks before the work, temporary names, locks, publishing.

* :func:`check_destination` — before any raster is read: the folder exists (or can be made) and is
  writable, the extension is one the command writes, the output is none of the inputs, and an
  existing file is replaced only when it is a cacao-screen output (recognised by its
  ``run_metadata``);
* :func:`temp_prefix` — every temporary file or folder beside an output is named
  ``.<output name>.<pid>.<random>.tmp…``: a run knows which leftovers are its output's, and which
  process made them;
* :class:`OutputLock` — an exclusive OS lock (``fcntl.flock``) on ``.<output name>.lock`` beside the
  output, held for the whole run; the kernel releases it when the process dies, however it dies;
* :func:`remove_dead_temps` — under the lock, the temporary files of runs that died (killed,
  power cut) for the same output are removed;
* :class:`Staged` — a file written under a temporary name and renamed into place by
  :meth:`Staged.publish` (so that a job can publish two outputs together, once both are complete);
* :func:`disk_errors` — a full disk during the write becomes "no space left on device: FOLDER".
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..engine.signals import deferred_signals
from ..errors import DiskFullError, LockedError, OutputError
from ..i18n import N_, _, tr
from .ownership import is_own_output

try:
    import fcntl
except ImportError:  # not on Windows: outputs are not locked there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Paths published by this process (for the message of an interrupted run).
PUBLISHED: list[Path] = []


# --- Temporary names -------------------------------------------------------------------------------


def temp_prefix(target: str | Path) -> str:
    """The prefix of every temporary file or folder of ``target`` made by this process (for
    ``tempfile.mkstemp``/``mkdtemp``, which add a random part): ``.<name>.<pid>.``."""
    return f".{Path(target).name}.{os.getpid()}."


def _temp_pattern(target: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp")


#: Temporary files of versions before the pid was in the name (``.screening.k2j4_x8a.tmp.gpkg``,
#: ``.screening.k2j4_x8a.tmp-work``, ``.baseline_csv.k2j4_x8a``, ``.baseline_csv.old-k2j4_x8a``):
#: removed when older than this (a run of such a version takes no
#: lock, so a recent one may still be live).
LEGACY_AGE_S = 24 * 3600


def _legacy_pattern(target: Path) -> re.Pattern:
    if target.suffix:  # a file: its temporary copies
        return re.compile(rf"^\.{re.escape(target.stem)}\.[a-z0-9_]{{8}}\.tmp")
    name = re.escape(target.name)  # a folder: its staged copies and the old one set aside
    return re.compile(rf"^\.{name}\.(?:old-)?[a-z0-9_]{{8}}$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_dead_temps(target: str | Path) -> list[Path]:
    """Remove the temporary files and folders beside ``target`` that runs now dead left for it
    (named by :func:`temp_prefix`; a live process's are kept). Returns what was removed."""
    target = Path(target)
    pattern, legacy = _temp_pattern(target), _legacy_pattern(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None:
            try:
                old = legacy.match(entry.name) is not None and now - entry.stat().st_mtime > LEGACY_AGE_S
            except OSError:
                old = False
            if not old:
                continue
        elif _alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning(
                tr("{path}: cannot remove a leftover temporary file ({error})", path=entry.path, error=exc.strerror)
            )
    if removed:
        log.warning(
            tr(
                "{path}: removed {n} temporary file(s) left by interrupted runs: {names}",
                path=target,
                n=len(removed),
                names=", ".join(p.name for p in removed[:5]),
            )
        )
    return removed


def temp_files(target: str | Path) -> list[Path]:
    """Every temporary file or folder beside ``target`` named for it, whoever made it (tests)."""
    target = Path(target)
    pattern = _temp_pattern(target)
    if not target.parent.is_dir():
        return []
    return [p for p in target.parent.iterdir() if pattern.match(p.name)]


# --- Checks before the work --------------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (both resolved: through any link)."""
    try:
        return folder.resolve() in path.resolve().parents
    except (OSError, RuntimeError):
        return False


def check_not_input(out: str | Path, inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    """Refuse (exit 2) an output that is one of the inputs (the same file or folder, through any
    path or link) or a folder that holds one."""
    out = Path(out)
    for role, path in inputs:
        if path is None or "://" in str(path) or str(path).startswith("/vsi"):
            continue
        p = Path(path)
        if _same_file(out, p):
            raise OutputError(
                tr(
                    "{out}: is also the {role} (an input); writing it would destroy it — choose another path",
                    out=out,
                    role=role,
                )
            )
        if out.is_dir() and _inside(p, out):
            raise OutputError(
                tr(
                    "{out}: holds the {role} {p} (an input); replacing the folder would destroy it — "
                    "choose another path",
                    out=out,
                    role=role,
                    p=p,
                )
            )


def check_folder(folder: Path, what: str = N_("output")) -> None:
    """The folder exists, or can be made (its nearest existing parent is a folder), and this process
    can write in it: tried with a file that is removed at once, not guessed from permissions. Nothing
    is created: a refused run leaves nothing behind."""
    folder = Path(os.path.abspath(folder))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            tr(
                "{existing}: is not a folder; the {what} cannot be written in {folder}",
                existing=existing,
                what=_(what),
                folder=folder,
            )
        )
    probe = existing / f"{temp_prefix('probe')}x.tmp"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(tr("no space left on device: {path}", path=existing)) from exc
        raise OutputError(
            tr(
                "{existing}: the {what} folder is not writable ({error}); choose another --out "
                "or fix the folder's permissions",
                existing=existing,
                what=_(what),
                error=exc.strerror,
            )
        ) from exc


def make_folder(folder: Path, what: str = N_("output")) -> None:
    """Create the output folder (and its parents) when the work is done and the output is written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(tr("no space left on device: {path}", path=folder)) from exc
        raise OutputError(
            tr("{folder}: cannot create the {what} folder ({error})", folder=folder, what=_(what), error=exc.strerror)
        ) from exc


def check_destination(
    path: str | Path,
    overwrite: bool,
    *,
    suffixes: tuple[str, ...] = (".gpkg",),
    inputs: Iterable[tuple[str, str | Path | None]] = (),
    what: str = N_("output"),
) -> Path:
    """Everything about ``path`` that can be checked before the work (exit 2 otherwise): its
    extension (one of ``suffixes``; none for a folder output), that it is none of ``inputs``, that
    it does not exist (or ``overwrite``, and then only a cacao-screen output is replaced), that its
    folder exists or can be made and is writable."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(
            tr(
                "{path}: the {what} is written as {suffixes}; choose one of these extensions",
                path=path,
                what=_(what),
                suffixes=" or ".join(suffixes),
            )
        )
    check_not_input(path, inputs)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise OutputError(tr("{path}: output already exists; pass --overwrite to replace it", path=path))
        if path.is_dir():
            raise OutputError(
                tr("{path}: is a folder, expected a {suffixes} file name", path=path, suffixes="/".join(suffixes))
            )
        if not is_own_output(path):
            raise OutputError(
                tr(
                    "{path}: exists and is not a cacao-screen output (no run_metadata written by cacao-screen); "
                    "refusing to replace it — choose another path, or move the file away yourself",
                    path=path,
                )
            )
    check_folder(path.parent, what)
    return path


# --- Locks ---------------------------------------------------------------------------------------


def open_private(path: Path, what: str, *, exclusive: bool = False) -> int:
    """Open (create) ``path`` for reading and writing without following a symbolic link
    (``O_NOFOLLOW``; ``exclusive``: ``O_EXCL`` too, the file must not exist), and only if it is a
    regular file. A planted link, a folder or a pipe in its place is refused (exit 2)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | (os.O_EXCL if exclusive else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if os.path.islink(path):
            raise OutputError(
                tr(
                    "{path}: is a symbolic link where cacao-screen writes {what}; refusing to follow it — "
                    "remove the link (someone may have planted it)",
                    path=path,
                    what=_(what),
                )
            ) from exc
        if exc.errno == errno.EEXIST and not os.path.isdir(path):
            raise OutputError(
                tr("{path}: exists already where cacao-screen writes {what}; remove it", path=path, what=_(what))
            ) from exc
        if exc.errno in (errno.EISDIR, errno.ENXIO) or os.path.isdir(path):
            raise OutputError(
                tr(
                    "{path}: is not a regular file ({error}) where cacao-screen writes {what}; remove it",
                    path=path,
                    error=exc.strerror,
                    what=_(what),
                )
            ) from exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(tr("no space left on device: {path}", path=path.parent)) from exc
        raise OutputError(
            tr("{path}: cannot open {what} ({error})", path=path, what=_(what), error=exc.strerror)
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(
            tr("{path}: is not a regular file where cacao-screen writes {what}; remove it", path=path, what=_(what))
        )
    os.set_blocking(fd, True)
    return fd


def lock_path(target: str | Path) -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}.lock")


class OutputLock:
    """An exclusive lock on an output for a whole run: ``flock`` on ``.<name>.lock`` beside it,
    holding the holder's pid and start time. The kernel drops the lock when the process dies.

    The lock file is removed when the run ends, while the lock is still held. A run that opened the
    file before it was removed, and gets the lock on the removed file, sees that the path no longer
    leads to the file it locked and starts again, so two runs never both hold a lock on one path.
    After a kill, the file stays (a few bytes, unlocked) until the next run on the output removes it.
    """

    def __init__(self, target: str | Path, wait_s: float = 0.0) -> None:
        self.target = Path(target)
        self.path = lock_path(self.target)
        self.wait_s = wait_s
        self.fd: int | None = None
        self.made: list[Path] = []

    def __enter__(self) -> OutputLock:
        if fcntl is None:
            return self
        deadline = time.monotonic() + self.wait_s
        self.made = []  # folders made for the lock, removed at the end if still empty
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            self.made.append(folder)
            folder = folder.parent
        make_folder(self.path.parent)
        while True:
            with deferred_signals():  # a Ctrl-C never leaves the lock file half made
                holder = self._try()
            if holder is None:
                return self
            if time.monotonic() >= deadline:
                raise LockedError(tr("another run is writing {target} ({holder})", target=self.target, holder=holder))
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _try(self) -> str | None:
        """One attempt: None when the lock is ours, else who holds it ("" to try again at once)."""
        assert fcntl is not None
        while True:
            fd = open_private(self.path, "the lock file of " + str(self.target))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                return holder
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the file was removed (or replaced) by the run that held it: again
                os.close(fd)
                continue
            started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {started}\n".encode(), 0)
            self.fd = fd
            return None

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            pid, since = os.pread(fd, 200, 0).decode().split()[:2]
            return f"pid {int(pid)}, since {since}"
        except (OSError, ValueError):
            return "pid unknown"

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        if self.fd is None:
            return
        with deferred_signals():
            self._release()

    def _release(self) -> None:
        assert self.fd is not None
        try:
            os.unlink(self.path)  # while holding the lock: see the class docstring
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
        for folder in self.made:  # deepest first; a folder holding an output is kept
            try:
                folder.rmdir()
            except OSError:
                break
        self.made = []


@contextmanager
def guard(
    targets: Iterable[str | Path], wait_s: float = 0.0, also: Iterable[str | Path] = ()
) -> Iterator[list[OutputLock]]:
    """Lock every output of a job (in a fixed order, so that two jobs never wait on each other) and
    remove the temporary files dead runs left for them (and for ``also``: folders written with
    them); release the locks at the end."""
    locks: list[OutputLock] = []
    try:
        for target in sorted({Path(t).resolve() for t in targets}):
            lock = OutputLock(target, wait_s)
            locks.append(lock)  # first: released in the end whatever happens while it is taken
            lock.__enter__()
            remove_dead_temps(target)
        for extra in also:
            remove_dead_temps(Path(extra).resolve())
        yield locks
    finally:
        for lock in reversed(locks):
            lock.release()


# --- Staging and publishing ----------------------------------------------------------------------


def private_dir(target: Path) -> Path:
    """A new folder beside ``target`` that only this user can enter (``mkdtemp``: mode 0700, named
    by :func:`temp_prefix`), for files written under a temporary name: no one else can plant a link
    at the name a writer is about to create."""
    import tempfile

    make_folder(target.parent)
    made: Path | None = None
    try:
        with deferred_signals():  # a signal that comes as it is made is raised once it is named...
            made = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent))
    except BaseException:
        if made is not None:  # ...and the folder removed here: the caller never got its name
            shutil.rmtree(made, ignore_errors=True)
        raise
    return made


def rename_into(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` onto ``target``. ``rename`` replaces a link at ``target`` itself, never what it
    points to; a folder in its place is refused."""
    if target.is_dir() and not target.is_symlink():
        raise OutputError(tr("{target}: is a folder, expected a file name", target=target))
    os.replace(tmp, target)


class Staged:
    """A file written under a temporary name (:attr:`tmp`, not created: GDAL creates its files
    itself) in a private folder beside ``target`` (:func:`private_dir`), renamed into place by
    :meth:`publish`; :meth:`discard` removes what is left (the folder, with SQLite's side files)."""

    def __init__(self, target: str | Path, overwrite: bool) -> None:
        self.target = Path(target)
        self.overwrite = overwrite
        self.dir = private_dir(self.target)
        self.tmp = self.dir / self.target.name
        self.published = False

    def publish(self) -> Path:
        if self.target.exists() and not self.overwrite:  # appeared while we worked
            raise OutputError(
                tr("{target}: output appeared while screening; pass --overwrite to replace it", target=self.target)
            )
        with deferred_signals():
            rename_into(self.tmp, self.target)
            self.published = True
            PUBLISHED.append(self.target)
        self.discard()
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


# --- Shared caches --------------------------------------------------------------------------------


def update_json(path: Path, merge: Callable[[dict], dict], wait_s: float = 10.0) -> bool:
    """Replace the small JSON file ``path`` (a cache, an index) with ``merge(what it holds now)``,
    under its lock (:class:`OutputLock`: two runs never write it at once, nor lose each other's
    entries), through a new file renamed onto it (never written through a link). Returns False
    when it cannot be written (locked too long, a folder not writable): a cache is only a cache."""
    import json
    import tempfile

    try:
        with OutputLock(path, wait_s):
            remove_dead_temps(path)
            try:
                with open(path, encoding="utf-8") as f:
                    current = json.load(f)
            except (OSError, ValueError):
                current = {}
            data = merge(current if isinstance(current, dict) else {})
            fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
    except (OSError, OutputError, LockedError) as exc:
        log.debug("cannot update %s (%s)", path, exc)
        return False
    return True


# --- A full disk ---------------------------------------------------------------------------------

_DISK_FULL_TEXT = ("no space left on device", "database or disk is full", "disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk is full: ENOSPC, EDQUOT, or GDAL's and
    SQLite's words for it."""
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        exc = cause
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(t in str(exc).lower() for t in _DISK_FULL_TEXT):
            return True
        cause = exc.__cause__ or exc.__context__
    return False


@contextmanager
def disk_errors(folder: str | Path) -> Iterator[None]:
    """A full disk inside the block becomes :class:`~pipeline.errors.DiskFullError` naming ``folder``."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFullError(tr("no space left on device: {path}", path=Path(folder).resolve())) from exc
        raise
