"""Reading the deliveries CSV (lots of cocoa and the plots they came from) as text."""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pandas as pd

from ..config import DeliveriesConfig
from ..errors import DeliveriesError, missing_file
from ..i18n import tr


def read_deliveries(cfg: DeliveriesConfig) -> pd.DataFrame:
    """The deliveries CSV as text, every cell a string (comma, semicolon or tab separated; UTF-8).

    Checking and typing the values is :func:`pipeline.stages.baseline.supply.parse_deliveries`'s.
    """
    path = Path(cfg.path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            head = f.read(64 * 1024)
    except FileNotFoundError:
        raise DeliveriesError(f"{path}: {missing_file(path, 'deliveries file')}") from None
    except UnicodeDecodeError as exc:
        raise DeliveriesError(
            tr(
                "{path}: not UTF-8 text ({reason} at byte {byte}); save it as CSV UTF-8",
                path=path,
                reason=exc.reason,
                byte=exc.start,
            )
        ) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DeliveriesError(f"{path}: {missing_file(path, 'deliveries file')}") from None
        raise DeliveriesError(
            tr("{path}: cannot read the deliveries file ({error})", path=path, error=exc.strerror)
        ) from exc
    if not head.strip():
        raise DeliveriesError(tr("{path}: the deliveries file is empty", path=path))
    first = head.splitlines()[0]
    sep = max((",", ";", "\t"), key=first.count)
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DeliveriesError(
            tr("{path}: not a readable CSV ({error})", path=path, error=str(exc).replace("\n", " "))
        ) from exc
