"""The error hierarchy.

Every error the pipeline raises on purpose derives from :class:`CacaoScreenError` and from the
built-in type that best describes it, so library users can catch either. The command line maps
:class:`InputError` (the user's input cannot be used: a file, a column, a config key, an existing
output) to exit code 2 and anything else to exit code 1, printing one line that names the file and
the problem.
"""

from __future__ import annotations

import errno
import os

from .i18n import N_, _, tr


class CacaoScreenError(Exception):
    """Base class of every error raised by cacao-screen on purpose."""

    exit_code = 1


class InputError(CacaoScreenError, ValueError):
    """The user's input cannot be used (bad usage, unreadable or unsuitable file). Exit code 2."""

    exit_code = 2


class ConfigError(InputError):
    """The YAML configuration is missing, unreadable or invalid."""


class PlotsError(InputError):
    """The plots file cannot be read or lacks what screening needs (id column, CRS...)."""


class RasterError(InputError):
    """A raster cannot be read or does not fit the product (CRS, grid, data type...)."""


class OutputError(InputError):
    """The output cannot be written where asked (exists without --overwrite, bad folder...)."""


class BaselineError(InputError):
    """A screening GeoPackage, a previous one, or a baseline option cannot be used for the baseline."""


class RegionsError(InputError):
    """The administrative boundaries file cannot be read or lacks the id column."""


class OverlayError(InputError):
    """An overlay layer (protected areas, native communities...) that cannot be read or used."""


class DeliveriesError(InputError):
    """The deliveries CSV cannot be read or holds a bad value (the message names the line and column)."""


class DiskFullError(CacaoScreenError, OSError):
    """The disk filled up while an output was written (exit 1): the previous output is intact."""

    exit_code = 1


class WriteError(CacaoScreenError, RuntimeError):
    """GDAL refused a step of writing an output (exit 1); the message names the file and gives
    GDAL's own words. The previous output, if any, is intact."""

    exit_code = 1


class LockedError(CacaoScreenError, RuntimeError):
    """Another run is writing the same output (exit 75, EX_TEMPFAIL: try again later, or --wait-lock)."""

    exit_code = 75  # pipeline.vocab.EXIT_LOCKED (errors imports only i18n; tests/test_cli.py checks they agree)


class SchedulerError(InputError):
    """The scheduler asked for cannot be used (unknown, unreachable, Dask not installed, workers
    running another cacao-screen version)."""


#: The names of the files :func:`missing_file` is given (marked for translation).
FILE_WORDS = (N_("plots file"), N_("regions file"), N_("deliveries file"), N_("configuration file"))


def missing_file(path: str | os.PathLike, what: str = N_("file")) -> str:
    """Why ``path`` cannot be opened, in words (in the language in use): a symbolic link loop, a
    link to nothing, or not found. ``what`` names the file (an English message id: ``N_("plots file")``)."""
    what = _(what)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return tr(
                "{what} is a symbolic link loop (a link that leads back to itself); point it at the real file",
                what=what,
            )
        if os.path.islink(path):
            return tr(
                "{what} is a symbolic link to {target!r}, which does not exist",
                what=what,
                target=os.readlink(os.fspath(path)),
            )
        if exc.errno == errno.EACCES:
            return tr("{what} cannot be reached (permission denied)", what=what)
        return tr("{what} not found", what=what)
    return tr("{what} not found", what=what)
