"""What a plots reader returns: the features, and its notes on single rows (issue records that
:mod:`pipeline.stages.qc` merges with its own findings)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np


@dataclass
class ReadNotes:
    """Per-row findings of a reader: positions (0-based), codes, severities, messages."""

    positions: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, positions, code: str, severity: str, messages) -> None:
        positions = [int(p) for p in np.atleast_1d(positions)]
        if isinstance(messages, str):
            messages = [messages] * len(positions)
        self.positions += positions
        self.codes += [code] * len(positions)
        self.severities += [severity] * len(positions)
        self.messages += list(messages)

    def as_attrs(self) -> dict[str, np.ndarray]:
        """A compact form stored in ``GeoDataFrame.attrs['read_issues']``."""
        return {
            "position": np.asarray(self.positions, dtype="int64"),
            "code": np.asarray(self.codes, dtype=object),
            "severity": np.asarray(self.severities, dtype=object),
            "message": np.asarray(self.messages, dtype=object),
        }


@dataclass
class RawPlots:
    """What a reader returns: the features (own CRS, possibly None), and notes on single rows."""

    frame: gpd.GeoDataFrame
    notes: ReadNotes
    driver: str
