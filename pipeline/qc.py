"""Geometry quality control: checks that decide whether and how a plot can be screened.

Each finding is an issue record (``plot_id``, ``source_row``, ``code``, ``severity``,
``message``). Severities: ``error`` (the plot is not screened: status ``invalid``), ``warning``
(screened, flagged), ``info`` (for the record; ``qc_status`` stays ``ok``). Nothing is dropped:
every input row stays in the output, and :class:`QCResult` has one entry per row.

The checks run on all rows at once (shapely 2 array functions, numpy); cross-plot checks use a
spatial index (:mod:`pipeline.qc_cross`). :data:`ISSUE_CODES` lists every code with its severity,
what happened and what the user can do; the README's table is checked against it by the tests.

What is screened (``QCResult.geometry``) is the input geometry, or a stand-in for it: the repair of
an invalid polygon, a circle of the declared area around a point, the plot with longitude and
latitude swapped back (only when asked). The original geometry is never changed: the outputs keep it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import shapely

from .errors import PlotsError
from .geodesy import M2_PER_HA
from .geodesy import geodesic_areas as plot_areas
from .qc_cross import cross_plot_checks
from .qc_geometry import (COLLECTION, LINEAR, MULTIPOINT, POINT, POLYGONAL, count_decimals, few_decimals,
                          geodesic_circles, hole_counts, polygonal_parts, repair, swapped)

ISSUE_COLUMNS = ["plot_id", "source_row", "code", "severity", "message"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

#: Columns taken as the declared area in hectares, in order of preference (names compared
#: case-insensitively; ``Area`` is the EUDR GeoJSON property).
DECLARED_AREA_COLUMNS = ("declared_area_ha", "area_ha", "area")

#: EUDR: a plot of land of more than 4 ha must be given as a polygon, not a point.
EUDR_POINT_MAX_HA = 4.0

#: A polygon smaller than this (m²) is a sliver with no real area: ``collapsed_polygon``.
MIN_AREA_M2 = 1.0


@dataclass(frozen=True)
class IssueCode:
    severity: str   # 'error', 'warning', 'info' or 'error or warning'
    what: str       # what happened
    todo: str       # what the user can do


ISSUE_CODES: dict[str, IssueCode] = {
    "unreadable_geometry": IssueCode(
        "error", "the row's geometry cannot be read: WKT that does not parse, a latitude or longitude "
        "that is blank or not a number, GeoJSON coordinates that are not rings",
        "correct the cell or feature in the file (the message quotes it)"),
    "empty_geometry": IssueCode(
        "error", "the row has no geometry, or an empty one", "redraw or re-export the plot"),
    "non_polygonal": IssueCode(
        "error", "a line, or several points in one row: only polygons and single points can be screened",
        "map the plot's boundary as a closed polygon, or give one point per plot"),
    "invalid_geometry": IssueCode(
        "error", "the polygon is invalid (crosses itself...) and repair is off (`qc.repair_invalid: false`); "
        "GEOS's reason and location are given",
        "fix it in QGIS (*Fix geometries*), or leave repair on"),
    "collapsed_polygon": IssueCode(
        "error", "the polygon has no area (under 1 m²): all its vertices on one line or at one spot, even "
        "after repair",
        "redraw the plot"),
    "coordinates_out_of_range": IssueCode(
        "error", "coordinates beyond longitude ±180° / latitude ±90° (or not finite) that swapping does not "
        "explain: usually metres (UTM) in a file that claims longitude/latitude",
        "save the file with its true CRS, or state it with `--crs`"),
    "suspect_swapped_coordinates": IssueCode(
        "error or warning", "longitude and latitude look swapped. **Error** when a latitude is beyond ±90° "
        "but would fit as a longitude (cannot be screened); **warning** when the plot lies outside the "
        "rasters (or `--bounds`) and would lie inside swapped (screened as it is: `not_assessed`)",
        "fix the file, or rerun with `--fix-swapped-coordinates` to swap them back"),
    "swapped_coordinates_fixed": IssueCode(
        "warning", "longitude and latitude were swapped back, as asked (`--fix-swapped-coordinates`); the "
        "swapped-back plot is screened, the output keeps the original", "fix the file"),
    "geometry_repaired": IssueCode(
        "warning", "the polygon was invalid (self-intersection, overlapping parts, a ring turning back on "
        "itself...) or a geometry collection; it was repaired with `shapely.make_valid` (structure method: "
        "the rings' areas united) keeping the polygonal parts, and the repair is screened; the output keeps "
        "the original. The message gives GEOS's reason, its location, and the repaired area",
        "check the repaired area is the plot; fix the file (QGIS *Fix geometries*)"),
    "nested_rings_repaired": IssueCode(
        "warning", "a GeoJSON geometry whose coordinates are nested at the wrong depth (a `Polygon` "
        "nested like a `MultiPolygon`), which GDAL reads as an empty geometry, was read from the file's "
        "own coordinates", "fix the exporting tool; nothing to do for screening"),
    "point_buffered": IssueCode(
        "warning", "a point: screened as a geodesic circle of the declared area around it (EUDR allows "
        "points for plots up to 4 ha), or of `qc.point_default_area_ha` when no area is declared; the "
        "output keeps the point", "map the plot's boundary for an exact screening"),
    "point_over_4ha": IssueCode(
        "warning", "a point whose declared area is over 4 ha: EUDR requires a polygon for such plots",
        "map the plot's boundary"),
    "large_plot": IssueCode(
        "warning", "the plot is larger than `qc.max_area_ha` (default 100 ha): unusual for a farm plot",
        "check it is one plot (not a farm, a district, or a unit error)"),
    "area_mismatch": IssueCode(
        "warning", "the declared area (`declared_area_ha`, `area_ha` or EUDR `Area` column, in ha) differs "
        "from the computed area by more than `qc.area_tolerance_pct` (default 10 %) and "
        "`qc.area_tolerance_ha` (default 0.01 ha)", "check the polygon and the declared figure"),
    "declared_area_unreadable": IssueCode(
        "warning", "the declared-area cell is not a number", "correct the cell"),
    "low_precision": IssueCode(
        "warning", "no coordinate of the plot has more than 5 decimals (`qc.min_decimals`, EUDR asks for 6, "
        "about 0.1 m); only checked when the file is in WGS84 longitude/latitude",
        "export the coordinates with 6 decimals or more"),
    "duplicate_id": IssueCode(
        "warning", "another row has the same `plot_id`; both are screened", "give each plot its own id"),
    "generated_id": IssueCode(
        "warning", "the row had no id; `row-<n>` was made from its position",
        "add an id column and name it with `--id-column`"),
    "duplicate_geometry": IssueCode(
        "warning", "another row has the same geometry (the partner's id and row are given)",
        "remove the repeated row, or correct one of the two"),
    "overlap": IssueCode(
        "warning", "the plot overlaps another by at least `qc.overlap_min_share` (default 10 %) of the "
        "smaller of the two (the partner's id, row, and the shared hectares are given)",
        "correct the boundaries; overlapping plots double-count area"),
    "has_holes": IssueCode(
        "info", "the polygon has holes: they are not part of the plot and are not screened, but EUDR geolocation files may refuse them",
        "nothing for screening; for an EUDR export, split the plot around the hole"),
}


@dataclass(frozen=True)
class QCParams:
    """Settings of the checks (defaults documented in the README and :mod:`pipeline.config`)."""

    max_area_ha: float = 100.0
    area_tolerance_pct: float = 10.0
    area_tolerance_ha: float = 0.01
    point_default_area_ha: float = 4.0
    overlap_min_share: float = 0.1
    min_decimals: int = 6
    fix_swapped_coordinates: bool = False
    repair_invalid: bool = True
    declared_area_column: str | None = None
    circle_vertices: int = 64

    @classmethod
    def from_config(cls, cfg) -> "QCParams":
        """From a :class:`pipeline.config.QCConfig` (or any object with the same attributes)."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls) if hasattr(cfg, f.name)})


@dataclass
class QCResult:
    """``issues`` (one row per finding) and, per plot, whether and what to screen."""

    issues: pd.DataFrame
    screenable: np.ndarray   # bool per plot
    qc_status: pd.Series     # 'ok' | 'warning' | 'error' per plot
    qc_summary: pd.Series    # readable summary per plot ('' when no issue)
    error_reason: pd.Series  # the error messages per plot ('' when none)
    geometry: np.ndarray     # the geometry to screen per plot (a repair or stand-in; None when not screenable)
    area_ha: np.ndarray = None  # area of the screened geometry on the WGS84 ellipsoid (NaN when not screenable)


class _Issues:
    """Accumulates findings as arrays: (positions, code, severity, messages)."""

    def __init__(self) -> None:
        self.pos: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.sev: list[np.ndarray] = []
        self.msg: list[np.ndarray] = []

    def add(self, positions, code: str, severity: str, messages) -> None:
        positions = np.asarray(positions, dtype="int64").ravel()
        if not len(positions):
            return
        assert code in ISSUE_CODES, code
        if isinstance(messages, str):
            messages = np.full(len(positions), messages, dtype=object)
        self.pos.append(positions)
        self.code.append(np.full(len(positions), code, dtype=object))
        self.sev.append(np.full(len(positions), severity, dtype=object))
        self.msg.append(np.asarray(list(messages), dtype=object))

    def arrays(self):
        if not self.pos:
            e = np.zeros(0, dtype=object)
            return np.zeros(0, dtype="int64"), e, e, e
        pos, code, sev, msg = (np.concatenate(a) for a in (self.pos, self.code, self.sev, self.msg))
        rank = pd.Series(sev).map(SEVERITY_ORDER).to_numpy()
        order = np.lexsort((code.astype(str), rank, pos))
        return pos[order], code[order], sev[order], msg[order]


def _fmt(values, spec: str) -> list[str]:
    return [format(v, spec) for v in values]


def declared_areas(plots: pd.DataFrame, column: str | None = None) -> tuple[np.ndarray, str | None, np.ndarray]:
    """Declared area (ha) per row, the column it came from, and where a cell was not a number."""
    n = len(plots)
    if column is None:
        lower = {str(c).lower(): c for c in plots.columns}
        column = next((lower[name] for name in DECLARED_AREA_COLUMNS if name in lower), None)
    elif column not in plots.columns:
        names = [str(c) for c in plots.columns if c != plots.geometry.name]
        raise PlotsError(f"no declared-area column {column!r} (qc.declared_area_column); "
                         f"columns are: {', '.join(names)}")
    if column is None:
        return np.full(n, np.nan), None, np.zeros(n, dtype=bool)
    raw = plots[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype="float64", na_value=np.nan), str(column), np.zeros(n, dtype=bool)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    return values, str(column), np.isnan(values) & ~blank


def check_plots(plots: pd.DataFrame, params: QCParams = QCParams(), *,
                coverage_bounds: tuple[float, float, float, float] | None = None) -> QCResult:
    """Run every check on a normalised plots frame (see :func:`pipeline.plots.normalise`).

    ``coverage_bounds`` (minx, miny, maxx, maxy in degrees), the extent of the rasters, lets a plot
    that lies outside it but would lie inside with longitude and latitude swapped be flagged.
    """
    n = len(plots)
    original = np.asarray(plots.geometry.to_numpy(), dtype=object)
    geoms = original.copy()
    ids = plots["plot_id"].astype(str).to_numpy(dtype=object)
    rows = plots["source_row"].to_numpy()
    out = _Issues()
    err = np.zeros(n, dtype=bool)  # rows with an error: no further geometry checks

    # 0. What the reader found (unreadable or recovered geometries).
    read = plots.attrs.get("read_issues") or {}
    if len(read.get("position", ())):
        for code in np.unique(read["code"]):
            for sev in ("error", "warning", "info"):
                m = (read["code"] == code) & (read["severity"] == sev)
                if m.any():
                    out.add(read["position"][m], str(code), sev, read["message"][m])
                    if sev == "error":
                        err[read["position"][m]] = True

    # 1. Missing and empty geometries.
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    out.add(np.flatnonzero(missing & ~err), "empty_geometry", "error", "the row has no geometry or an empty one")
    err |= missing

    # 2. Geometry types: polygons, points; collections keep their polygons; the rest is refused.
    types = shapely.get_type_id(geoms)
    single_multipoint = (types == MULTIPOINT) & (shapely.get_num_geometries(geoms) == 1)
    if single_multipoint.any():
        geoms[single_multipoint] = shapely.get_geometry(geoms[single_multipoint], 0)
        types[single_multipoint] = POINT
    repaired_note = np.full(n, None, dtype=object)
    coll = np.flatnonzero(~err & (types == COLLECTION))
    if len(coll):
        polys, dropped = polygonal_parts(geoms[coll])
        has = np.array([p is not None for p in polys], dtype=bool)
        geoms[coll[has]] = polys[has]
        types[coll[has]] = shapely.get_type_id(polys[has])
        repaired_note[coll[has]] = [f"a GeometryCollection: its polygons are kept, {d} other part(s) dropped"
                                    for d in dropped[has]]
    refused = ~err & ~np.isin(types, (*POLYGONAL, POINT))
    idx = np.flatnonzero(refused)
    if len(idx):
        kinds = shapely.get_type_id(geoms[idx])
        msgs = [f"{g.geom_type} geometry: only polygons and single points can be screened"
                + (" (close the line into a polygon)" if k in LINEAR else "") for g, k in zip(geoms[idx], kinds)]
        out.add(idx, "non_polygonal", "error", msgs)
    err |= refused

    # 3. Coordinate ranges and swapped longitude/latitude (on bounding boxes: cheap).
    bounds = np.full((n, 4), np.nan)
    live = ~err
    bounds[live] = shapely.bounds(geoms[live])
    geographic = bool(plots.attrs.get("wgs84_source", True))
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(bounds).all(axis=1)
        lat_bad = (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
        lon_bad = (bounds[:, 0] < -180) | (bounds[:, 2] > 180)
        fits_swapped = (bounds[:, 0] >= -90) & (bounds[:, 2] <= 90) & (bounds[:, 1] >= -180) & (bounds[:, 3] <= 180)
    swap_range = live & finite & lat_bad & fits_swapped & geographic
    out_of_range = live & (~finite | ((lat_bad | lon_bad) & ~swap_range))
    idx = np.flatnonzero(out_of_range)
    if len(idx):
        msgs = [("coordinates are not finite numbers (a failed reprojection?)" if not np.isfinite(b).all() else
                 f"coordinates outside longitude ±180 / latitude ±90 (x {b[0]:.6g} to {b[2]:.6g}, y {b[1]:.6g} to "
                 f"{b[3]:.6g}): projected coordinates with a longitude/latitude CRS? state the right --crs")
                for b in bounds[idx]]
        out.add(idx, "coordinates_out_of_range", "error", msgs)
    err |= out_of_range
    swap_cover = np.zeros(n, dtype=bool)
    if coverage_bounds is not None and geographic:
        cx0, cy0, cx1, cy1 = coverage_bounds
        b = bounds
        with np.errstate(invalid="ignore"):
            outside = (b[:, 2] < cx0) | (b[:, 0] > cx1) | (b[:, 3] < cy0) | (b[:, 1] > cy1)
            inside_swapped = (b[:, 1] >= cx0) & (b[:, 3] <= cx1) & (b[:, 0] >= cy0) & (b[:, 2] <= cy1)
        swap_cover = ~err & outside & inside_swapped
    if params.fix_swapped_coordinates:
        fix = np.flatnonzero(swap_range | swap_cover)
        geoms[fix] = swapped(geoms[fix])
        why = np.where(swap_range[fix], "a latitude beyond ±90 fits as a longitude",
                       "the plot lies outside the rasters' extent and inside it swapped")
        out.add(fix, "swapped_coordinates_fixed", "warning",
                [f"longitude and latitude were swapped ({w}); swapped back as asked (--fix-swapped-coordinates): "
                 "the swapped-back plot is screened" for w in why])
    else:
        idx = np.flatnonzero(swap_range)
        out.add(idx, "suspect_swapped_coordinates", "error",
                [f"latitude {b[1]:.6g} to {b[3]:.6g} is beyond ±90 but would fit as a longitude: longitude and "
                 "latitude look swapped (rerun with --fix-swapped-coordinates to swap them back)" for b in bounds[idx]])
        err |= swap_range
        out.add(np.flatnonzero(swap_cover), "suspect_swapped_coordinates", "warning",
                "the plot lies outside the rasters' extent (or --bounds) but would lie inside it with longitude "
                "and latitude swapped (rerun with --fix-swapped-coordinates to swap them back)")

    # 4. Coordinate precision (EUDR: 6 decimals), on the file's own longitude/latitude.
    if geographic and params.min_decimals > 0:
        idx = np.flatnonzero(~err)
        xy, which = shapely.get_coordinates(original[idx], return_index=True)
        precise = ~(few_decimals(xy[:, 0], params.min_decimals - 1) & few_decimals(xy[:, 1], params.min_decimals - 1))
        low = np.bincount(which, weights=precise, minlength=len(idx)) == 0
        low &= np.bincount(which, minlength=len(idx)) > 0
        if low.any():
            sel = np.isin(which, np.flatnonzero(low))
            dec = np.maximum(count_decimals(xy[sel, 0], params.min_decimals),
                             count_decimals(xy[sel, 1], params.min_decimals))
            most = np.zeros(len(idx), dtype="int64")
            np.maximum.at(most, which[sel], dec)
            texts = np.array([f"coordinates have at most {d} decimal(s) (~{111_000 * 10.0 ** -d:g} m); "
                              f"EUDR asks for {params.min_decimals}" for d in range(params.min_decimals)], dtype=object)
            out.add(idx[low], "low_precision", "warning", texts[most[low]])

    # 5. Validity: repair (make_valid, polygonal parts kept) or refuse.
    poly = ~err & np.isin(types, POLYGONAL)
    idx = np.flatnonzero(poly)
    bad = idx[~shapely.is_valid(geoms[idx])]
    if len(bad):
        reasons = shapely.is_valid_reason(geoms[bad])
        if params.repair_invalid:
            fixed, dropped = repair(geoms[bad])
            ok = np.array([f is not None for f in fixed], dtype=bool)
            out.add(bad[~ok], "collapsed_polygon", "error",
                    [f"no area left after repair (invalid polygon: {r})" for r in reasons[~ok]])
            err[bad[~ok]] = True
            after = plot_areas(fixed[ok]) / M2_PER_HA
            geoms[bad[ok]] = fixed[ok]
            repaired_note[bad[ok]] = [
                f"invalid polygon ({r}) repaired with make_valid: {a1:.4f} ha"
                + (f", {d} collapsed part(s) dropped" if d else "") + "; the repair is screened"
                for r, a1, d in zip(reasons[ok], after, dropped[ok])]
        else:
            out.add(bad, "invalid_geometry", "error", [f"invalid polygon: {r}" for r in reasons])
            err[bad] = True
    idx = np.flatnonzero(np.array([r is not None for r in repaired_note], dtype=bool) & ~err)
    out.add(idx, "geometry_repaired", "warning", repaired_note[idx])

    # 6. Points: a geodesic circle of the declared (or default) area.
    declared, area_col, unreadable = declared_areas(plots, params.declared_area_column)
    out.add(np.flatnonzero(unreadable), "declared_area_unreadable", "warning",
            [f"declared area {v!r} ({area_col}) is not a number" for v in plots[area_col].to_numpy()[unreadable]]
            if unreadable.any() else [])
    pts = np.flatnonzero(~err & (types == POINT))
    if len(pts):
        d = declared[pts]
        use_declared = np.isfinite(d) & (d > 0)
        area = np.where(use_declared, d, params.point_default_area_ha)
        xy = shapely.get_coordinates(geoms[pts])
        circles, radius = geodesic_circles(xy[:, 0], xy[:, 1], area * M2_PER_HA, vertices=params.circle_vertices)
        geoms[pts] = circles
        out.add(pts, "point_buffered", "warning",
                [f"a point: screened as a circle of {a:g} ha ({'declared' if u else 'no declared area: qc.point_default_area_ha'}"
                 f"), radius {r:.1f} m" for a, u, r in zip(area, use_declared, radius)])
        over = use_declared & (d > EUDR_POINT_MAX_HA)
        out.add(pts[over], "point_over_4ha", "warning",
                [f"a point with a declared area of {a:g} ha: EUDR requires a polygon for plots over 4 ha" for a in d[over]])
    is_point = np.zeros(n, dtype=bool)
    is_point[pts] = True

    # 7. Areas: collapsed, large, different from the declared area.
    area_ha = np.full(n, np.nan)
    live = np.flatnonzero(~err)
    area_ha[live] = plot_areas(geoms[live]) / M2_PER_HA
    zero = np.flatnonzero(~err & ~(area_ha >= MIN_AREA_M2 / M2_PER_HA))
    out.add(zero, "collapsed_polygon", "error",
            [f"the polygon has no area ({a * M2_PER_HA:.2g} m²: a sliver, its vertices nearly on one line)"
             for a in area_ha[zero]])
    err[zero] = True
    large = np.flatnonzero(~err & (area_ha > params.max_area_ha))
    out.add(large, "large_plot", "warning",
            [f"{a:.2f} ha, more than qc.max_area_ha ({params.max_area_ha:g} ha)" for a in area_ha[large]])
    with np.errstate(invalid="ignore"):
        diff = area_ha - declared
        tol = np.maximum(np.abs(declared) * params.area_tolerance_pct / 100, params.area_tolerance_ha)
        mismatch = np.flatnonzero(~err & ~is_point & np.isfinite(declared) & (np.abs(diff) > tol))
    if len(mismatch):
        out.add(mismatch, "area_mismatch", "warning",
                [f"declared {dd:g} ha ({area_col}), computed {a:.4f} ha"
                 + (f" ({100 * (a - dd) / dd:+.1f} %)" if dd else "")
                 for dd, a in zip(declared[mismatch], area_ha[mismatch])])

    # 8. Holes (allowed; flagged for EUDR export).
    polys = np.flatnonzero(~err & ~is_point)
    holes = hole_counts(geoms[polys])
    out.add(polys[holes > 0], "has_holes", "info",
            [f"{h} hole(s): not counted as part of the plot; EUDR files may not accept holes" for h in holes[holes > 0]])

    # 9. Ids.
    generated = np.asarray(plots.attrs.get("id_generated", np.zeros(n, dtype=bool)), dtype=bool)
    idx = np.flatnonzero(generated)
    out.add(idx, "generated_id", "warning", "no plot id in the input; the id was made from the row number")
    dup = pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        rows_of = pd.Series(rows[idx]).groupby(ids[idx]).agg(list).to_dict()
        out.add(idx, "duplicate_id", "warning",
                [f"plot_id {ids[i]!r} is also used on row(s) {_some([r for r in rows_of[ids[i]] if r != rows[i]])}"
                 for i in idx])

    # 10. Across plots: identical geometries, overlaps (spatial index).
    live = np.flatnonzero(~err)
    for positions, code, messages in cross_plot_checks(geoms[live], area_ha[live], ids[live], rows[live],
                                                       params.overlap_min_share):
        out.add(live[positions], code, "warning", messages)

    return _result(plots, out, geoms, err, area_ha)


def _some(rows: list, at_most: int = 5) -> str:
    """'3, 7, 9' or '3, 7, 9, 12, 15 and 9,995 more': messages stay short when an id repeats a lot."""
    shown = ", ".join(str(r) for r in rows[:at_most])
    return shown if len(rows) <= at_most else f"{shown} and {len(rows) - at_most:,} more"


def _join_by_row(pos: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``"; ".join`` of the texts of each row (``pos`` sorted): (rows, joined texts). Vectorised:
    object arrays add as Python strings, and ``np.add.reduceat`` joins each run."""
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    joined = np.add.reduceat(np.asarray(text, dtype=object) + "; ", starts)
    return pos[starts], np.array([j[:-2] for j in joined], dtype=object)


def _result(plots: pd.DataFrame, out: _Issues, geoms: np.ndarray, err: np.ndarray, area_ha: np.ndarray) -> QCResult:
    n = len(plots)
    ids = plots["plot_id"].to_numpy()
    rows = plots["source_row"].to_numpy()
    pos, code, sev, msg = out.arrays()
    issues = pd.DataFrame({
        "plot_id": pd.Series(ids[pos], dtype=object).astype(str),
        "source_row": pd.Series(rows[pos], dtype="int64"),
        "code": pd.Series(code, dtype=object).astype(str),
        "severity": pd.Series(sev, dtype=object).astype(str),
        "message": pd.Series(msg, dtype=object).astype(str),
    }, columns=ISSUE_COLUMNS)
    is_error = sev == "error"
    is_warning = sev == "warning"
    status = np.full(n, "ok", dtype=object)
    status[pos[is_warning]] = "warning"
    status[pos[is_error]] = "error"
    if not (err[pos[is_error]]).all() or (status == "error").sum() != err.sum():  # pragma: no cover - invariant
        raise AssertionError("internal error: QC error flags and error issues disagree")
    summary = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    if len(pos):
        where, joined = _join_by_row(pos, code + ": " + msg)
        summary[where] = joined
        if is_error.any():
            where, joined = _join_by_row(pos[is_error], msg[is_error])
            reason[where] = joined
    screenable = ~err
    area = np.where(screenable, area_ha, np.nan)
    return QCResult(
        issues=issues,
        screenable=screenable,
        qc_status=pd.Series(status, index=plots.index, dtype=str),
        qc_summary=pd.Series(summary, index=plots.index, dtype=str),
        error_reason=pd.Series(reason, index=plots.index, dtype=str),
        geometry=np.where(screenable, geoms, None),
        area_ha=area,
    )
