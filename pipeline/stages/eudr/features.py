"""The EUDR features of a screening and the manifest saying what became of every plot.

:func:`eudr_features` runs the plots through, in order, each step setting the reason of the plots
it leaves out: the statuses chosen; a geometry; the overlays whose effect is ``exclude``; the
producer country (a plot to export without one refuses the whole export, naming the plots); the
geometry (a point with its declared area up to 4 ha, a polygon on the grid, repaired if needed,
without holes); the plots held back for a person to look at (a repair that changed the area, a
duplicated id) unless ``include_flagged``. The geometry work runs on all plots at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ...config import ExportConfig
from ...engine.geodesy import M2_PER_HA, geodesic_areas
from ...errors import ConfigError
from ...i18n import N_, _, formatter, tr
from ...vocab import FREE
from ..qc.checks import DECLARED_AREA_COLUMNS
from .fields import EudrColumns, country_code
from .geojson import feature_json, geometry_json
from .geometry import as_point, round_polygons, single_points, without_holes

#: What became of a plot in an EUDR export (column ``outcome`` of the manifest).
EXPORTED, REPAIRED, LEFT_OUT = "exported", "repaired", "left_out"
#: A plot held back for a person to look at, and why (``flag``); a duplicated id, the flag the
#: export summary groups (``pipeline.cli.export``).
HELD_BACK = N_("held back: {flag} (--include-flagged exports it)")
DUPLICATED_ID = N_("plot id {plot_id} is on {rows} rows")
#: The kinds of overlay an ``exclude`` reason names (the English words are the kind codes' own).
KINDS = (N_("protected area"), N_("indigenous land"), N_("concession"), N_("other"))
MANIFEST_COLUMNS = ["source_row", "plot_id", "status", "outcome", "file", "feature", "area_ha", "country", "reason",
                    "flag"]  # fmt: skip


@dataclass(frozen=True)
class OverlayEffect:
    """An overlay of the screening, as the export needs it: its columns' prefix, kind and effect."""

    name: str
    kind: str
    effect: str  # review, flag or exclude


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def declared_area_column(columns: Sequence[str], configured: str | None = None) -> str | None:
    """The input's declared-area column in a screening: ``configured`` (the screening's
    ``qc.declared_area_column``) or a default name, as the input had it or renamed ``input_<name>``
    (the screening's own ``area_ha`` is the computed area, never the declared one)."""
    lower = {str(c).lower(): str(c) for c in columns}
    for name in [configured] if configured else DECLARED_AREA_COLUMNS:
        for candidate in (f"input_{name}".lower(), name.lower()):
            if candidate in lower and candidate != "area_ha":
                return lower[candidate]
    return None


@dataclass
class _Rows:
    """The plots on their way: what is still to do, the outcome and reason of each."""

    todo: np.ndarray
    outcome: np.ndarray
    reason: np.ndarray
    flag: np.ndarray

    def drop(self, mask: np.ndarray, reasons: str | Sequence[str]) -> None:
        mask = mask & self.todo
        self.reason[mask] = reasons if isinstance(reasons, str) else np.asarray(reasons, dtype=object)[mask]
        self.outcome[mask] = LEFT_OUT
        self.todo &= ~mask


def _countries(plots: pd.DataFrame, columns: EudrColumns, rows: _Rows) -> np.ndarray:
    """Each plot's ISO 3166-1 alpha-2 code; a plot to export without a country refuses the export."""
    n = len(plots)
    if columns.country is not None:
        return np.full(n, columns.country, dtype=object)
    raw = plots[columns.producer_country].to_numpy(dtype=object) if columns.producer_country else np.full(n, None)
    text = np.array([_text(v) for v in raw], dtype=object)
    missing = rows.todo & np.array([t is None for t in text], dtype=bool)
    if missing.any():
        ids = plots["plot_id"].astype(str).to_numpy()[missing]
        listed = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        raise ConfigError(
            tr(
                "ProducerCountry is required: {n} plot(s) to export have none (column {column}): {ids}; "
                "give --producer-country PE for all, or --producer-country-column",
                n=int(missing.sum()),
                column=columns.producer_country,
                ids=listed,
            )
            if columns.producer_country
            else tr(
                "ProducerCountry is required: {n} plot(s) to export have none (no country column was found): {ids}; "
                "give --producer-country PE for all, or --producer-country-column",
                n=int(missing.sum()),
                ids=listed,
            )
        )
    codes = np.array([country_code(t) for t in text], dtype=object)
    bad = np.array([t is not None and c is None for t, c in zip(text, codes)], dtype=bool)
    fill = formatter(_("country {country!r} names no country (ISO 3166-1 code or name)"))
    rows.drop(bad, [fill(country=t) if b else "" for t, b in zip(text, bad)])
    return codes


def _overlays(plots: pd.DataFrame, overlays: Sequence[OverlayEffect], rows: _Rows) -> None:
    """Overlays of effect ``exclude``: a plot overlapping one is left out; ``review``/``flag``: noted."""
    for o in overlays:
        column = f"{o.name}_overlap_ha"
        if column not in plots.columns:
            continue
        ha = pd.to_numeric(plots[column], errors="coerce").fillna(0).to_numpy()
        names = plots.get(f"{o.name}_names", pd.Series([""] * len(plots))).fillna("").astype(str).to_numpy()
        if o.effect == "exclude":
            what = _(o.kind.replace("_", " "))
            fill = formatter(_("{ha:.2f} ha inside {what} {names} (overlay {overlay}, effect exclude)"))
            rows.drop(ha > 0, [fill(ha=h, what=what, names=nm, overlay=o.name) for h, nm in zip(ha, names)])


def _points(plots: pd.DataFrame, point: np.ndarray, declared: str | None, cfg: ExportConfig, rows: _Rows) -> np.ndarray:
    """The declared area of each point; points without one, or over ``point_max_ha``, left out."""
    area = np.full(len(plots), np.nan)
    if declared is not None:
        area = pd.to_numeric(plots[declared], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    rows.drop(point & ~(area > 0), _("a point without a declared area: the EUDR needs the plot's area, or its polygon"))
    large = point & (area > cfg.point_max_ha)
    fill = formatter(_("a point for a plot of {area:.2f} ha: over {max_ha:g} ha the EUDR asks for the plot's polygon"))
    rows.drop(large, [fill(area=a, max_ha=cfg.point_max_ha) for a in area])
    return area


def _held_back(
    plots: pd.DataFrame,
    geoms: np.ndarray,
    out: np.ndarray,
    declared_ha: np.ndarray,
    rows: _Rows,
    cfg: ExportConfig,
) -> None:
    """Repairs that changed the area by more than ``max_repair_change_pct`` of the declared area (of
    the area as drawn when none is declared), and every row of a duplicated id: flagged, and left
    out unless ``include_flagged``."""
    repaired = rows.todo & (rows.outcome == REPAIRED)
    after = np.full(len(plots), np.nan)
    after[repaired] = geodesic_areas(out[repaired]) / M2_PER_HA
    drawn = np.full(len(plots), np.nan)
    drawn[repaired] = geodesic_areas(geoms[repaired]) / M2_PER_HA
    with np.errstate(invalid="ignore", divide="ignore"):
        reference = np.where(declared_ha > 0, declared_ha, drawn)  # the declared area, else the area as drawn
        change = np.abs(after - reference) / reference * 100
    big = repaired & (change > cfg.max_repair_change_pct)
    fill = formatter(
        _(
            "the repair changed the area: {exported:.4f} ha exported, {declared:g} ha declared, {drawn:.4f} ha as "
            "drawn (more than {max_pct:g} %)"
        )
    )
    rows.flag[big] = [
        fill(exported=a, declared=d, drawn=w, max_pct=cfg.max_repair_change_pct)
        for a, d, w in zip(after[big], declared_ha[big], drawn[big])
    ]
    ids = plots["plot_id"].astype(str)
    dup = rows.todo & ids.duplicated(keep=False).to_numpy()
    counts = ids.map(ids.value_counts()).to_numpy()
    fill = formatter(_(DUPLICATED_ID))
    rows.flag[dup] = [fill(plot_id=i, rows=c) for i, c in zip(ids.to_numpy()[dup], counts[dup])]
    flagged = rows.todo & (rows.flag != "")
    if cfg.include_flagged:
        fill = formatter(_("{flag} (included: --include-flagged)"))
        rows.flag[flagged] = [fill(flag=f) for f in rows.flag[flagged]]
    else:
        fill = formatter(_(HELD_BACK))
        rows.drop(flagged, [fill(flag=f) if f else "" for f in rows.flag])


def _geometries(
    plots: pd.DataFrame, cfg: ExportConfig, declared: str | None, rows: _Rows
) -> tuple[np.ndarray, np.ndarray]:
    """Each plot's exported geometry (None when left out) and its area in ha."""
    n = len(plots)
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    rows.drop(shapely.is_missing(geoms) | shapely.is_empty(geoms), _("no geometry"))
    point, count = single_points(geoms)
    fill = formatter(_("a MultiPoint of {points} points: export each as its own plot, or give the polygon"))
    rows.drop((count > 1), [fill(points=c) if c > 1 else "" for c in count])
    kind = shapely.get_type_id(geoms)
    other = ~point & ~np.isin(kind, (3, 6))
    fill = formatter(_("a {kind}, not a polygon or a point"))
    rows.drop(other, [fill(kind=getattr(g, "geom_type", "")) if o else "" for g, o in zip(geoms, other)])
    declared_ha = _points(plots, point & rows.todo, declared, cfg, rows)
    out = np.full(n, None, dtype=object)
    pts = point & rows.todo
    out[pts] = as_point(geoms[pts], cfg.decimals)
    polys = rows.todo & ~point
    out[polys], fixed, note = round_polygons(geoms[polys], cfg.decimals)
    at = np.flatnonzero(polys)
    rows.outcome[at[fixed]] = REPAIRED
    rows.reason[at[note != ""]] = note[note != ""]
    rows.todo[at[np.array([g is None for g in out[at]], dtype=bool)]] = False
    out[polys & rows.todo], _holes = without_holes(out[polys & rows.todo])
    _held_back(plots, geoms, out, declared_ha, rows, cfg)
    area = np.where(pts, declared_ha, np.nan)
    area[rows.todo & ~pts] = geodesic_areas(out[rows.todo & ~pts]) / M2_PER_HA
    return out, area


def _basis(plots: pd.DataFrame) -> np.ndarray:
    """Which plots go in on a field check (``field_check``: a screening with reviews) rather than
    on the satellite data (``satellite``)."""
    if "status_basis" not in plots.columns:
        return np.full(len(plots), "satellite", dtype=object)
    return plots["status_basis"].fillna("satellite").astype(str).to_numpy(dtype=object)


def eudr_features(
    plots: pd.DataFrame,
    cfg: ExportConfig,
    columns: EudrColumns,
    *,
    declared: str | None = None,
    overlays: Sequence[OverlayEffect] = (),
) -> tuple[list[str], pd.DataFrame]:
    """The Features of the plots to export (JSON text), and the manifest: one row per plot, in
    order, with ``status_basis``, ``outcome``, ``area_ha``, ``country``, ``reason``, ``flag`` and ``feature_index``
    (``file`` and ``feature`` come from :func:`~.geojson.split_files`). ``declared``: the column of
    the declared area (:func:`declared_area_column`)."""
    n = len(plots)
    status = plots["status"].astype(str).to_numpy()
    statuses = list(cfg.statuses) if cfg.statuses else [FREE]
    rows = _Rows(np.isin(status, statuses), np.full(n, LEFT_OUT, dtype=object), np.full(n, "", dtype=object),
                 np.full(n, "", dtype=object))  # fmt: skip
    fill = formatter(_("status {status} (exported: {statuses})"))
    chosen = ", ".join(sorted(statuses))
    rows.reason[~rows.todo] = [fill(status=s, statuses=chosen) for s in status[~rows.todo]]
    _overlays(plots, overlays, rows)
    countries = _countries(plots, columns, rows)
    out, area = _geometries(plots, cfg, declared, rows)
    done = rows.todo
    rows.outcome[done & (rows.outcome == LEFT_OUT)] = EXPORTED
    names = plots[columns.producer_name].to_numpy(dtype=object) if columns.producer_name else np.full(n, None)
    places = plots[columns.production_place].to_numpy(dtype=object) if columns.production_place else np.full(n, None)
    features = []
    for i in np.flatnonzero(done):
        props = {k: v for k, v in (("ProducerName", _text(names[i])), ("ProducerCountry", countries[i]),
                                   ("ProductionPlace", _text(places[i]))) if v is not None}  # fmt: skip
        if shapely.get_type_id(out[i]) == 0:
            props["Area"] = round(float(area[i]), 4)
        features.append(feature_json(props, geometry_json(out[i], cfg.decimals)))
    index = np.full(n, -1, dtype="int64")
    index[done] = np.arange(int(done.sum()))
    manifest = pd.DataFrame({
        "source_row": plots["source_row"].to_numpy(dtype="int64"), "plot_id": plots["plot_id"].astype(str).to_numpy(),
        "status": status, "status_basis": _basis(plots), "outcome": rows.outcome,
        "area_ha": np.where(done, area, np.nan),
        "country": np.where(pd.isna(countries), "", countries), "reason": rows.reason, "flag": rows.flag,
        "feature_index": index,
    })  # fmt: skip
    extra = [c for o in overlays for c in (f"{o.name}_overlap_ha", f"{o.name}_overlap_pct", f"{o.name}_names")
             if c in plots.columns]  # fmt: skip
    for c in extra:
        manifest[c] = plots[c].to_numpy()
    return features, manifest
