"""``cacao-screen field-pack``: the check package of a screening's plots (see :mod:`pipeline.stages.fieldcheck`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..i18n import format_list, tr
from ..io.fieldpack import read_patches, write_pack
from ..io.provenance import DigestCache
from ..io.screenings import read_screening
from ..stages.fieldcheck import DEFAULT_STATUSES, build_pack
from ..vocab import META_CREATED

log = logging.getLogger(__name__)


@dataclass
class FieldPackResult:
    path: Path
    plots: int
    patches: int


def run_field_pack(
    screening: Path,
    out: Path,
    *,
    statuses=DEFAULT_STATUSES,
    group_column: str | None = None,
    group: str | None = None,
    producer_column: str | None = "producer_id",
    overwrite: bool = False,
    invocation=None,
) -> FieldPackResult:
    """Write the check package of a screening's plots of ``statuses`` (of ``group``)."""
    plots, meta = read_screening(screening)
    if group_column is not None and group_column not in plots.columns:
        raise InputError(
            tr(
                "{screening}: no column {column!r} in the plots layer to choose a group by (columns: {columns})",
                screening=screening,
                column=group_column,
                columns=", ".join(c for c in plots.columns if c != "geometry"),
            )
        )
    checks, patches, pack_plots = build_pack(
        plots,
        read_patches(screening),
        statuses=statuses,
        group_column=group_column,
        group=group,
        producer_column=producer_column,
    )
    if not len(checks):
        if group is None:
            log.warning(
                tr(
                    "{path}: no plot is {statuses}: the package holds no plot",
                    path=screening,
                    statuses=format_list(list(statuses), "or"),
                )
            )
        else:
            log.warning(
                tr(
                    "{path}: no plot is {statuses} in {column} = {group}: the package holds no plot",
                    path=screening,
                    statuses=format_list(list(statuses), "or"),
                    column=group_column,
                    group=group,
                )
            )
    metadata = {
        "generator": "cacao-screen field-pack",
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "screening": str(screening),
        "screening_sha256": DigestCache().digest(Path(screening)),
        "screening_created_utc": meta.get(META_CREATED, ""),
        "statuses": ",".join(statuses),
        "group_column": group_column or "",
        "group": "" if group is None else str(group),
        "command": getattr(invocation, "command", "") or "",
    }
    path = write_pack(out, checks, patches, pack_plots, metadata, overwrite=overwrite)
    return FieldPackResult(path, len(checks), len(patches))
