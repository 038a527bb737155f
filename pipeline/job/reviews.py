"""``cacao-screen reviews import``: the filled forms of a package into the append-only review log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..io.fieldpack import append_reviews, read_pack
from ..stages.fieldcheck import check_forms


@dataclass
class ImportResult:
    added: int
    already: int
    blank: int
    refused: pd.DataFrame


def run_reviews_import(pack: Path, into: Path, *, today: dt.date | None = None) -> ImportResult:
    """Append the filled forms of ``pack`` to the review log ``into`` (see :mod:`pipeline.io.fieldpack`)."""
    now = dt.datetime.now(dt.timezone.utc)
    checks, pack_plots, meta = read_pack(pack)
    forms = check_forms(checks, pack_plots, meta, Path(pack).name, today or now.date())
    added, already = (0, 0)
    if len(forms.records):
        added, already = append_reviews(into, forms.records, now)
    return ImportResult(added, already, forms.empty, forms.refused)
