"""The ``cacao-screen`` command line: one module per command over the library (:mod:`pipeline.job`).

No computation here: each command parses its arguments (generated from the config models, see
:mod:`.options`), calls one library function and prints a summary.

Exit codes (:mod:`pipeline.vocab`): 0 success; 2 bad usage or unusable input (the message names
the file and the problem); 1 any other failure (a full disk...); 3 (``validate`` only) some plots
have errors; 4 too many plots ``not_assessed`` (outputs written); 75 another run is writing the
same output; 130 Ctrl-C and 143 SIGTERM (temporary files removed, no output written).
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shlex
import signal
import sys
import threading
from typing import NoReturn

import click

from .. import i18n
from ..errors import CacaoScreenError
from ..i18n import _, tr
from ..vocab import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED
from . import baseline, export, fetch, fieldpack, report, reviews, sample, screen, validate  # noqa: F401 - each registers its command
from .app import cli

log = logging.getLogger("pipeline")


def main(argv: list[str] | None = None, *, handle_signals: bool = True) -> int:
    """Console entry point; returns the exit code.

    ``handle_signals``: turn SIGTERM into an interruption like Ctrl-C while the command runs (the
    console script). A caller in its own process (tests, a notebook) passes False to keep its own
    handlers: the command then never touches the process's signals."""
    # Worker processes (spawned) inherit the environment, not the warning hook of app.py: their
    # library warnings stay silent rather than print site-packages paths.
    saved = os.environ.get("PYTHONWARNINGS")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    try:
        with i18n.session():  # the environment's language, until --lang or output.language says otherwise
            return _main(argv, handle_signals)
    finally:
        if saved is None:
            os.environ.pop("PYTHONWARNINGS", None)


#: The console script's thresholds of Python's cyclic garbage collector: allocations of container
#: objects between two collections of the youngest generation (Python's default: 700), and
#: collections of each generation between two of the next (10, 10). Each full collection scans every
#: container object alive, and a screening makes and keeps many (the rows of its chunks): at 1,000,000
#: plots Python's thresholds cost 34 full collections, 2.1 s holding the GIL while the other threads
#: waited; these, none (a few dozen young ones). Cycles are still collected.
COLLECTOR_THRESHOLDS = (50_000, 20, 20)


def console() -> NoReturn:
    """The ``cacao-screen`` console script (and ``python -m pipeline``): :func:`main`, then the
    process ends at once with its exit code.

    What Python would run at exit runs first (the ``atexit`` functions: logging's flush, the
    multiprocessing clean-up; the standard streams flushed); what is skipped is tearing down every
    module and the libraries' own destructors (two GDALs, three PROJs, GEOS), about 0.15-0.2 s of
    every command. Every output is already closed, synced and renamed into place by then. Under a
    profiler or a tracer (``python -m cProfile -m pipeline``, coverage), the process exits as
    usual, so that they write what they gathered. The garbage collector runs less often
    (:data:`COLLECTOR_THRESHOLDS`)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what could not be written is lost either way
            pass
    os._exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, systemd, ``kill``), raised in the main thread like Ctrl-C: every
    ``finally`` runs, so temporary files are removed and worker processes stopped."""


_STOPPING = threading.Event()


def _on_signal(signum, frame) -> None:
    """The first Ctrl-C or SIGTERM interrupts the run; those that come while it cleans up are
    ignored, so that the clean-up ends and the exit code is still 130 or 143 (SIGKILL stops it at once)."""
    if _STOPPING.is_set():
        return
    _STOPPING.set()
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _published() -> list:
    """The outputs published so far, if the job module is loaded (a signal that comes while it is
    being imported leaves it half made: nothing was published then, and it is not imported again)."""
    job = sys.modules.get("pipeline.job")
    try:
        return list(job.published()) if job is not None else []
    except Exception:  # noqa: BLE001 - a module interrupted while it was imported
        return []


def _interrupted(exc: BaseException | None, published_before: int) -> int:
    """The message and exit code of a run stopped by Ctrl-C (130) or SIGTERM (143)."""
    done = _published()[published_before:]
    if done:
        click.echo(
            tr("Interrupted; written before the interruption: {outputs}.", outputs=", ".join(map(str, done))), err=True
        )
    else:
        click.echo(_("Interrupted; no output was written."), err=True)
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def _main(argv: list[str] | None, handle_signals: bool = True) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    handlers = {}
    _STOPPING.clear()
    if handle_signals and threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _run(args)
    finally:
        for s, handler in handlers.items():
            # an interrupted process exits now: later signals are ignored, by the system (Python's own
            # handler is gone while the interpreter shuts down, and the signal would end the process)
            signal.signal(s, signal.SIG_IGN if argv is None and _STOPPING.is_set() else handler)


def _run(args: list[str]) -> int:
    published_before = len(_published())  # the job is not imported here: --help stays fast
    try:
        rv = cli.main(
            args=args,
            prog_name="cacao-screen",
            standalone_mode=False,
            obj={"command": shlex.join(["cacao-screen", *args])},  # recorded in the outputs' provenance
        )
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort as exc:  # click's form of a KeyboardInterrupt (or of our SIGTERM)
        return _interrupted(exc.__cause__ or exc.__context__, published_before)
    except CacaoScreenError as exc:
        if log.isEnabledFor(logging.DEBUG):
            log.exception("details")
        click.echo(tr("cacao-screen: error: {message}", message=exc), err=True)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _interrupted(exc, published_before)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, exit 1
        if log.isEnabledFor(logging.DEBUG):
            log.exception("unexpected error")
        click.echo(
            tr(
                "cacao-screen: unexpected error: {kind}: {message} (rerun with -vv for details)",
                kind=type(exc).__name__,
                message=exc,
            ),
            err=True,
        )
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
