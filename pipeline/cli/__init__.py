"""The ``cacao-screen`` command line: one module per command over the library (:mod:`pipeline.job`).

No computation here: each command parses its arguments (generated from the config models, see
:mod:`.options`), calls one library function and prints a summary.

Exit codes: 0 success; 2 bad usage or unusable input (the message names the file and the
problem); 1 any other failure; 3 (``validate`` only) some plots have errors.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys

import click

from ..errors import CacaoScreenError
from . import baseline, export, fetch, report, sample, screen, validate  # noqa: F401 - each registers its command
from .app import cli

log = logging.getLogger("pipeline")


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    # Worker processes (spawned) inherit the environment, not the warning hook of app.py: their
    # library warnings stay silent rather than print site-packages paths.
    saved = os.environ.get("PYTHONWARNINGS")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    try:
        return _main(argv)
    finally:
        if saved is None:
            os.environ.pop("PYTHONWARNINGS", None)


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
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
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except CacaoScreenError as exc:
        if log.isEnabledFor(logging.DEBUG):
            log.exception("details")
        click.echo(f"cacao-screen: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted; no output was written.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, exit 1
        if log.isEnabledFor(logging.DEBUG):
            log.exception("unexpected error")
        click.echo(
            f"cacao-screen: unexpected error: {type(exc).__name__}: {exc} (rerun with -vv for details)", err=True
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
