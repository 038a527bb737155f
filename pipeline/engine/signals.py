"""Ctrl-C and SIGTERM held for a few system calls: outputs published together are not cut apart
between two renames, and worker processes are never half started.

:func:`deferred_signals` records a signal that arrives inside the block and acts on it (its
handler called) just after. :func:`spawning` also blocks the two signals in the main thread while
worker processes are started: the block is inherited by them, so a Ctrl-C in the terminal (sent
to the whole process group) reaches only this process, which then stops its workers itself.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM inside the block: a signal that arrives meanwhile is recorded and
    acted on just after. In the main thread only (where Python runs signal handlers); elsewhere,
    nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = [(s, signal.getsignal(s)) for s in SIGNALS]
    got: list[int] = []
    for s in SIGNALS:
        signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s, handler in old:
            signal.signal(s, handler)
        if got:
            first = next(h for s, h in old if s == got[0])
            if callable(first):
                first(got[0], None)
            elif first == signal.SIG_DFL:
                signal.raise_signal(got[0])


@contextmanager
def spawning() -> Iterator[None]:
    """:func:`deferred_signals`, with Ctrl-C and SIGTERM also blocked in this thread while the block
    starts processes, which inherit the block (they are stopped by their parent, never by a signal
    of the terminal halfway through their start)."""
    mask = getattr(signal, "pthread_sigmask", None)
    with deferred_signals():
        old = mask(signal.SIG_BLOCK, SIGNALS) if mask is not None else None
        try:
            yield
        finally:
            if mask is not None:
                mask(signal.SIG_SETMASK, old)  # a pending signal is delivered here: recorded, acted on after
