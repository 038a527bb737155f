"""Keeping the resident memory of a long screening close to what it really uses.

A screening allocates and frees many large numpy arrays (the coverage of each batch of plots).
glibc's allocator grows its threshold for serving large blocks from the heap as they are freed,
and then keeps freed heap memory in its arenas: after a million plots a process held ~0.8 GB it
no longer used. :func:`tune_allocator` fixes that threshold at 8 MiB, so large arrays are mapped
and unmapped directly and return to the system when freed; :func:`trim` hands back what the heap
keeps. Both are harmless no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools
import sys

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_done = False


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library the process runs on, if it is glibc (looked up once).

    Not through ``ctypes.util.find_library``, which runs ``ldconfig`` in a child process: a
    process of several hundred MB forking at each trim doubled the memory a process-tree
    measurement saw."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded, the C library's among them
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def tune_allocator() -> None:
    """Serve blocks of 8 MiB and more by mmap, whatever was freed before (once per process)."""
    global _done
    if _done:
        return
    _done = True
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 8 << 20)
        libc.mallopt(_M_ARENA_MAX, 4)  # a few heaps for the threads, not one per thread: less left unused


def trim() -> None:
    """Give the memory the heap keeps free back to the system."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
