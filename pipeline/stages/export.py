"""Exports of a screening (frames in, frames and text out; :mod:`pipeline.io.export` writes them).

* :func:`select_rows` — the rows of the chosen statuses, for every format;
* the EU Deforestation Regulation's GeoJSON (:mod:`pipeline.stages.eudr`): :func:`eudr_features`
  gives one Feature per exported plot and the manifest of every plot, :func:`split_files` the
  FeatureCollections of at most 25 MB each (the EU information system's limit per statement),
  :func:`file_totals` what a statement asks for of each file (plots, area, countries).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import ExportConfig
from ..i18n import _
from ..vocab import FREE, STATUSES
from .eudr import (
    DUPLICATED_ID,
    EXPORTED,
    LEFT_OUT,
    MANIFEST_COLUMNS,
    REPAIRED,
    EudrColumns,
    OverlayEffect,
    declared_area_column,
    eudr_columns,
    eudr_features,
    rfc7946_problems,
    split_files,
)

__all__ = [
    "EXPORTED",
    "LEFT_OUT",
    "MANIFEST_COLUMNS",
    "REPAIRED",
    "EudrColumns",
    "ExportResult",
    "OverlayEffect",
    "chosen_statuses",
    "declared_area_column",
    "eudr_columns",
    "eudr_features",
    "file_totals",
    "rfc7946_problems",
    "select_rows",
    "split_files",
]


def chosen_statuses(cfg: ExportConfig) -> list[str]:
    """The statuses exported: the configured ones, else only deforestation_free for eudr and every
    status for the other formats."""
    if cfg.statuses:
        return list(cfg.statuses)
    return [FREE] if cfg.format == "eudr" else list(STATUSES)


def select_rows(frame: pd.DataFrame, statuses: Iterable[str]) -> pd.DataFrame:
    """The rows whose ``status`` is one of ``statuses`` (every row of a layer without a status)."""
    if "status" not in frame.columns:
        return frame
    return frame[frame["status"].astype(str).isin(list(statuses))]


def file_totals(manifest: pd.DataFrame, files: dict[str, str]) -> pd.DataFrame:
    """Per file, what a due-diligence statement asks for: its plots, their area (ha) and their
    countries (ISO 3166-1 alpha-2), how many of its plots went in on a field check
    (``status_basis`` ``field_check``), and its size; a last row ``(all files)`` sums them."""
    sent = manifest[manifest["file"] != ""]
    checked = (sent["status_basis"] == "field_check") if "status_basis" in sent else pd.Series(False, index=sent.index)
    rows = []
    for name, text in files.items():
        part = sent[sent["file"] == name]
        rows.append((name, len(part), float(part["area_ha"].sum()), "; ".join(sorted(set(part["country"]))),
                     int(checked[part.index].sum()), len(text.encode())))  # fmt: skip
    total = ("(all files)", len(sent), float(sent["area_ha"].sum()), "; ".join(sorted(set(sent["country"]))),
             int(checked.sum()), sum(r[5] for r in rows))  # fmt: skip
    columns = ["file", "plots", "area_ha", "countries", "field_checked", "bytes"]
    frame = pd.DataFrame([*rows, total], columns=columns)
    frame["area_ha"] = np.round(frame["area_ha"], 4)
    return frame


@dataclass
class ExportResult:
    """What an export wrote: the path, the rows written, and for eudr the files, the manifest,
    their totals, which column fed which property and the screening's provenance digest."""

    path: object
    format: str
    rows: int
    files: list[str] | None = None
    manifest: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    columns_used: list[str] = field(default_factory=list)
    provenance_digest: str = ""

    def outcomes(self) -> dict[str, int]:
        """eudr: plots exported, repaired (and exported), left out."""
        if self.manifest is None:
            return {}
        counts = self.manifest["outcome"].value_counts()
        return {k: int(counts.get(k, 0)) for k in (EXPORTED, REPAIRED, LEFT_OUT)}

    def left_out_reasons(self, at_most: int = 6) -> pd.Series:
        """eudr: the commonest reasons plots were left out, with how many each: areas shown as
        ``N ha`` and every duplicated id as one reason, so that alike reasons count together."""
        if self.manifest is None:
            return pd.Series(dtype="int64")
        reasons = self.manifest.loc[self.manifest["outcome"] == LEFT_OUT, "reason"].astype(str)
        reasons = reasons.str.replace(r"-?\d+(?:[.,\u00a0]\d+)* ha\b", "N ha", regex=True)
        reasons = reasons.str.replace(_pattern(_(DUPLICATED_ID)), _("plot id on several rows"), regex=True)
        return reasons.value_counts().head(at_most)


def _pattern(template: str) -> str:
    """A regular expression matching what ``template`` gives, whatever its placeholders hold."""
    return "".join(
        re.escape(text) + (".+?" if name is not None else "")
        for text, name, _s, _c in string.Formatter().parse(template)
    )
