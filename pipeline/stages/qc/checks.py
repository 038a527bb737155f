"""Geometry quality control: checks that decide whether and how a plot can be screened.

Each finding is an issue record (``plot_id``, ``source_row``, ``code``, ``severity``,
``message``); :data:`~.codes.ISSUE_CODES` lists every code with its severity, what happened and
what the user can do. Nothing is dropped: every input row stays in the output, and
:class:`QCResult` has one entry per row.

The checks run on all rows at once (shapely 2 array functions, numpy), one step after another
(:class:`_Checker`); a row with an error skips the later geometry checks. Cross-plot checks use a
spatial index (:mod:`.cross`).

:func:`check_plots` runs everything on one frame. The checks are in two kinds, so that a registry
too large for memory can be checked in parts: :func:`check_rows` runs every check that looks at
one row at a time (any part of the file gives the same findings for its rows), and the checks
across rows — duplicated ids (:func:`duplicate_id_issues`) and duplicated or overlapping
geometries (:mod:`.cross`) — run on what the rows left; :func:`finish` merges the findings of a
set of rows into their :class:`QCResult`.

What is screened (``QCResult.geometry``) is the input geometry, or a stand-in for it: the repair of
an invalid polygon, a circle of the declared area around a point, the plot with longitude and
latitude swapped back (only when asked). The original geometry is never changed: the outputs keep it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ...config import QCConfig
from ...engine.geodesy import M2_PER_HA
from ...engine.geodesy import geodesic_areas as plot_areas
from ...i18n import _, formatter
from .cross import CrossIssues, cross_plot_checks
from .findings import (
    DECLARED_AREA_COLUMNS,
    Issues,
    QCResult,
    RowChecks,
    declared_areas,
    finish,
    some,
)
from .geometry import (
    CIRCLE_VERTICES,
    COLLECTION,
    LINEAR,
    MULTIPOINT,
    POINT,
    POLYGONAL,
    count_decimals,
    crosses_antimeridian,
    few_decimals,
    geodesic_circles,
    hole_counts,
    invalid_reasons,
    near_pole,
    nonfinite_vertices,
    plausible_area_ha,
    polygonal_parts,
    repair,
    swapped,
)

__all__ = [
    "DECLARED_AREA_COLUMNS",
    "QCResult",
    "RowChecks",
    "check_plots",
    "check_rows",
    "declared_areas",
    "duplicate_id_issues",
    "finish",
]

#: EUDR: a plot of land of more than 4 ha must be given as a polygon, not a point.
EUDR_POINT_MAX_HA = 4.0

#: A polygon smaller than this (m²) is a sliver with no real area: ``collapsed_polygon``.
MIN_AREA_M2 = 1.0


def check_plots(
    plots: pd.DataFrame,
    params: QCConfig = QCConfig(),
    *,
    coverage_bounds: tuple[float, float, float, float] | None = None,
) -> QCResult:
    """Run every check on a normalised plots frame (see :func:`pipeline.io.plots.normalise`).

    ``coverage_bounds`` (minx, miny, maxx, maxy in degrees), the extent of the rasters, lets a plot
    that lies outside it but would lie inside with longitude and latitude swapped be flagged.
    """
    rows = check_rows(plots, params, coverage_bounds=coverage_bounds)
    ids = plots["plot_id"].astype(str).to_numpy(dtype=object)
    source_rows = plots["source_row"].to_numpy()
    dup_pos, dup_msg = duplicate_id_issues(ids, source_rows)
    live = np.flatnonzero(~rows.err)
    cross = CrossIssues.gather(
        cross_plot_checks(
            rows.geometry[live], rows.area_ha[live], ids[live], source_rows[live], params.overlap_min_share
        )
    )
    extra = CrossIssues.concat(
        [CrossIssues(dup_pos, np.full(len(dup_pos), "duplicate_id", dtype=object), dup_msg), cross.at(live)]
    )
    return finish(plots, rows, extra)


def check_rows(
    plots: pd.DataFrame,
    params: QCConfig = QCConfig(),
    *,
    coverage_bounds: tuple[float, float, float, float] | None = None,
) -> RowChecks:
    """The checks that look at one row at a time (every check but duplicated ids and the
    cross-plot checks): their findings for any part of a file are those of the whole file."""
    return _Checker(plots, params, coverage_bounds).run()


def duplicate_id_issues(ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``duplicate_id`` warnings: positions (into ``ids``) and messages naming the other rows.

    ``ids`` may be any subset of the plots that holds every row of each id it holds (the
    rows sharing an id need no other rows to be found)."""
    ids = np.asarray(ids, dtype=object)
    dup = pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy()
    if not dup.any():
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype=object)
    idx = np.flatnonzero(dup)
    rows_of = pd.Series(rows[idx]).groupby(ids[idx]).agg(list).to_dict()
    fill = formatter(_("plot_id {plot_id!r} is also used on row(s) {rows}"))
    messages = [fill(plot_id=ids[i], rows=some([r for r in rows_of[ids[i]] if r != rows[i]])) for i in idx]
    return idx, np.asarray(messages, dtype=object)


class _Checker:
    """The state of the checks on one frame: the geometries to screen (repaired as the steps go),
    which rows have an error, and the findings. Each method is one step; :meth:`run` runs them in order."""

    def __init__(
        self, plots: pd.DataFrame, params: QCConfig, coverage_bounds: tuple[float, float, float, float] | None
    ) -> None:
        self.plots, self.params, self.coverage_bounds = plots, params, coverage_bounds
        self.n = len(plots)
        self.original = np.asarray(plots.geometry.to_numpy(), dtype=object)
        self.geoms = self.original.copy()
        self.out = Issues()
        self.err = np.zeros(self.n, dtype=bool)  # rows with an error: no further geometry checks

    def run(self) -> RowChecks:
        for step in (
            self.reader_notes,
            self.empty,
            self.geometry_types,
            self.coordinate_ranges,
            self.antimeridian,
            self.extents,
            self.swaps,
            self.precision,
            self.validity,
            self.declared_figures,
            self.points,
            self.areas,
            self.holes,
            self.generated_ids,
        ):
            step()
        pos, code, sev, msg = self.out.unsorted()
        return RowChecks(pos, code, sev, msg, self.err, np.where(self.err, np.array(None), self.geoms), self.area_ha)

    def reader_notes(self) -> None:
        """What the reader found (unreadable or recovered geometries)."""
        read = self.plots.attrs.get("read_issues") or {}
        if len(read.get("position", ())):
            for code in np.unique(read["code"]):
                for sev in ("error", "warning", "info"):
                    m = (read["code"] == code) & (read["severity"] == sev)
                    if m.any():
                        self.out.add(read["position"][m], str(code), sev, read["message"][m])
                        if sev == "error":
                            self.err[read["position"][m]] = True

    def empty(self) -> None:
        """Missing and empty geometries."""
        missing = shapely.is_missing(self.geoms) | shapely.is_empty(self.geoms)
        self.out.add(
            np.flatnonzero(missing & ~self.err),
            "empty_geometry",
            "error",
            _("the row has no geometry or an empty one"),
        )
        self.err |= missing

    def geometry_types(self) -> None:
        """Geometry types: polygons, points; collections keep their polygons; the rest is refused."""
        self.types = shapely.get_type_id(self.geoms)
        single_multipoint = (self.types == MULTIPOINT) & (shapely.get_num_geometries(self.geoms) == 1)
        if single_multipoint.any():
            self.geoms[single_multipoint] = shapely.get_geometry(self.geoms[single_multipoint], 0)
            self.types[single_multipoint] = POINT
        self.repaired_note = np.full(self.n, None, dtype=object)
        coll = np.flatnonzero(~self.err & (self.types == COLLECTION))
        if len(coll):
            polys, dropped = polygonal_parts(self.geoms[coll])
            has = np.array([p is not None for p in polys], dtype=bool)
            self.geoms[coll[has]] = polys[has]
            self.types[coll[has]] = shapely.get_type_id(polys[has])
            fill = formatter(_("a GeometryCollection: its polygons are kept, {dropped} other part(s) dropped"))
            self.repaired_note[coll[has]] = [fill(dropped=d) for d in dropped[has]]
        refused = ~self.err & ~np.isin(self.types, (*POLYGONAL, POINT))
        idx = np.flatnonzero(refused)
        if len(idx):
            kinds = shapely.get_type_id(self.geoms[idx])
            other = formatter(_("{kind} geometry: only polygons and single points can be screened"))
            line = formatter(
                _("{kind} geometry: only polygons and single points can be screened (close the line into a polygon)")
            )
            msgs = [(line if k in LINEAR else other)(kind=g.geom_type) for g, k in zip(self.geoms[idx], kinds)]
            self.out.add(idx, "non_polygonal", "error", msgs)
        self.err |= refused

    def coordinate_ranges(self) -> None:
        """Coordinate ranges, not finite numbers, latitudes that fit as longitudes (on bounding
        boxes: cheap; every vertex for the numbers)."""
        bounds = np.full((self.n, 4), np.nan)
        live = ~self.err
        bounds[live] = shapely.bounds(self.geoms[live])
        self.bounds = bounds
        self.geographic = bool(self.plots.attrs.get("wgs84_source", True))
        # every vertex, not only the box: GEOS leaves a NaN vertex out of the box, and a repair
        # would then drop it and screen what is left
        nonfinite, vertex = nonfinite_vertices(np.where(live, self.geoms, np.array(None)))
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(bounds).all(axis=1) & ~nonfinite
            lat_bad = (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
            lon_bad = (bounds[:, 0] < -180) | (bounds[:, 2] > 180)
            fits_swapped = (bounds[:, 0] >= -90) & (bounds[:, 2] <= 90) & (bounds[:, 1] >= -180) & (bounds[:, 3] <= 180)
        self.swap_range = live & finite & lat_bad & fits_swapped & self.geographic
        out_of_range = live & (~finite | ((lat_bad | lon_bad) & ~self.swap_range))
        idx = np.flatnonzero(out_of_range)
        self.out.add(idx, "coordinates_out_of_range", "error", _range_messages(bounds[idx], vertex[idx]))
        self.err |= out_of_range

    def antimeridian(self) -> None:
        """Plots on both sides of the antimeridian (one row would span the globe)."""
        across = np.flatnonzero(~self.err & crosses_antimeridian(self.bounds))
        if len(across):
            parts, row = shapely.get_parts(self.geoms[across], return_index=True)
            whole = np.zeros(len(across), dtype=bool)  # a part (not only the plot) spans the line
            whole[row[crosses_antimeridian(shapely.bounds(parts))]] = True
            whole_fill = formatter(
                _(
                    "longitudes run from {west:.6g} to {east:.6g}: the plot lies on both sides of the antimeridian "
                    "(180°) and would be read as {width:.1f}° wide; split it at 180° (RFC 7946) and give each side "
                    "its own row"
                )
            )
            split_fill = formatter(
                _(
                    "longitudes run from {west:.6g} to {east:.6g}: the plot lies on both sides of the antimeridian "
                    "(180°) and would be read as {width:.1f}° wide; its parts are split at 180° already: give each "
                    "side its own row"
                )
            )
            self.out.add(
                across,
                "crosses_antimeridian",
                "error",
                [
                    (whole_fill if w else split_fill)(west=b[0], east=b[2], width=b[2] - b[0])
                    for b, w in zip(self.bounds[across], whole)
                ],
            )
        self.err[across] = True

    def extents(self, rows: np.ndarray | None = None) -> None:
        """Plots wider than ``qc.max_extent_deg``: refused before any window is read (``rows``: only
        those, with the bounds of the geometries now screened; all rows by default)."""
        if rows is None:
            rows, bounds = np.arange(self.n), self.bounds
        else:
            bounds = shapely.bounds(self.geoms[rows]).reshape(-1, 4)
        with np.errstate(invalid="ignore"):
            extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
            over = ~self.err[rows] & (extent > self.params.max_extent_deg)
        fill = formatter(
            _(
                "the plot spans {extent:.3g}° (x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to {ymax:.6g}), more than "
                "qc.max_extent_deg ({max_extent:g}°): not a farm plot (a region, a unit error?)"
            )
        )
        self.out.add(
            rows[over],
            "too_large_to_screen",
            "error",
            [
                fill(extent=e, xmin=b[0], xmax=b[2], ymin=b[1], ymax=b[3], max_extent=self.params.max_extent_deg)
                for e, b in zip(extent[over], bounds[over])
            ],
        )
        self.err[rows[over]] = True

    def swaps(self) -> None:
        """Longitude and latitude swapped: a latitude beyond ±90 that fits as a longitude, or a plot
        outside the rasters that would lie inside them swapped. Fixed when asked, else flagged."""
        swap_cover = np.zeros(self.n, dtype=bool)
        if self.coverage_bounds is not None and self.geographic:
            cx0, cy0, cx1, cy1 = self.coverage_bounds
            b = self.bounds
            with np.errstate(invalid="ignore"):
                outside = (b[:, 2] < cx0) | (b[:, 0] > cx1) | (b[:, 3] < cy0) | (b[:, 1] > cy1)
                inside_swapped = (b[:, 1] >= cx0) & (b[:, 3] <= cx1) & (b[:, 0] >= cy0) & (b[:, 2] <= cy1)
            swap_cover = ~self.err & outside & inside_swapped
        if self.params.fix_swapped_coordinates:
            fix = np.flatnonzero(self.swap_range | swap_cover)
            self.geoms[fix] = swapped(self.geoms[fix])
            by_range = _(
                "longitude and latitude were swapped (a latitude beyond ±90 fits as a longitude); swapped back as "
                "asked (--fix-swapped-coordinates): the swapped-back plot is screened"
            )
            by_cover = _(
                "longitude and latitude were swapped (the plot lies outside the rasters' extent and inside it "
                "swapped); swapped back as asked (--fix-swapped-coordinates): the swapped-back plot is screened"
            )
            why = np.where(self.swap_range[fix], by_range, by_cover)
            self.out.add(fix, "swapped_coordinates_fixed", "warning", why)
            return
        idx = np.flatnonzero(self.swap_range)
        fill = formatter(
            _(
                "latitude {ymin:.6g} to {ymax:.6g} is beyond ±90 but would fit as a longitude: longitude and "
                "latitude look swapped (rerun with --fix-swapped-coordinates to swap them back)"
            )
        )
        self.out.add(
            idx, "suspect_swapped_coordinates", "error", [fill(ymin=b[1], ymax=b[3]) for b in self.bounds[idx]]
        )
        self.err |= self.swap_range
        self.out.add(
            np.flatnonzero(swap_cover),
            "suspect_swapped_coordinates",
            "warning",
            _(
                "the plot lies outside the rasters' extent (or --bounds) but would lie inside it with longitude "
                "and latitude swapped (rerun with --fix-swapped-coordinates to swap them back)"
            ),
        )

    def precision(self) -> None:
        """Coordinate precision (EUDR: 6 decimals), on the file's own longitude/latitude."""
        if self.geographic and self.params.min_decimals > 0:
            idx = np.flatnonzero(~self.err)
            xy, which = shapely.get_coordinates(self.original[idx], return_index=True)
            precise = ~(
                few_decimals(xy[:, 0], self.params.min_decimals - 1)
                & few_decimals(xy[:, 1], self.params.min_decimals - 1)
            )
            low = np.bincount(which, weights=precise, minlength=len(idx)) == 0
            low &= np.bincount(which, minlength=len(idx)) > 0
            if low.any():
                sel = np.isin(which, np.flatnonzero(low))
                dec = np.maximum(
                    count_decimals(xy[sel, 0], self.params.min_decimals),
                    count_decimals(xy[sel, 1], self.params.min_decimals),
                )
                most = np.zeros(len(idx), dtype="int64")
                np.maximum.at(most, which[sel], dec)
                fill = formatter(
                    _("coordinates have at most {decimals} decimal(s) (~{metres:g} m); EUDR asks for {wanted}")
                )
                texts = np.array(
                    [
                        fill(decimals=d, metres=111_000 * 10.0**-d, wanted=self.params.min_decimals)
                        for d in range(self.params.min_decimals)
                    ],
                    dtype=object,
                )
                self.out.add(idx[low], "low_precision", "warning", texts[most[low]])

    def validity(self) -> None:
        """Validity: repair (make_valid, polygonal parts kept) or refuse."""
        poly = ~self.err & np.isin(self.types, POLYGONAL)
        idx = np.flatnonzero(poly)
        bad = idx[~shapely.is_valid(self.geoms[idx])]
        if len(bad):
            reasons = invalid_reasons(self.geoms[bad])
            if self.params.repair_invalid:
                fixed, dropped = repair(self.geoms[bad])
                ok = np.array([f is not None for f in fixed], dtype=bool)
                fill = formatter(_("no area left after repair (invalid polygon: {reason})"))
                self.out.add(bad[~ok], "collapsed_polygon", "error", [fill(reason=r) for r in reasons[~ok]])
                self.err[bad[~ok]] = True
                after = plot_areas(fixed[ok]) / M2_PER_HA
                self.geoms[bad[ok]] = fixed[ok]
                whole = formatter(
                    _("invalid polygon ({reason}) repaired with make_valid: {area:.4f} ha; the repair is screened")
                )
                parts = formatter(
                    _(
                        "invalid polygon ({reason}) repaired with make_valid: {area:.4f} ha, {dropped} collapsed "
                        "part(s) dropped; the repair is screened"
                    )
                )
                self.repaired_note[bad[ok]] = [
                    parts(reason=r, area=a1, dropped=d) if d else whole(reason=r, area=a1)
                    for r, a1, d in zip(reasons[ok], after, dropped[ok])
                ]
            else:
                fill = formatter(_("invalid polygon: {reason}"))
                self.out.add(bad, "invalid_geometry", "error", [fill(reason=r) for r in reasons])
                self.err[bad] = True
        idx = np.flatnonzero(np.array([r is not None for r in self.repaired_note], dtype=bool) & ~self.err)
        self.out.add(idx, "geometry_repaired", "warning", self.repaired_note[idx])

    def declared_figures(self) -> None:
        """The declared areas: unreadable cells, and figures no plot can have (negative; larger than
        a circle ``qc.max_extent_deg`` across), which are ignored — refused for a point, whose circle
        they would draw."""
        self.declared, self.area_col, unreadable = declared_areas(self.plots, self.params.declared_area_column)
        if unreadable.any():
            fill = formatter(_("declared area {value!r} ({column}) is not a number"))
            self.out.add(
                np.flatnonzero(unreadable),
                "declared_area_unreadable",
                "warning",
                [fill(value=v, column=self.area_col) for v in self.plots[self.area_col].to_numpy()[unreadable]],
            )
        most = plausible_area_ha(self.params.max_extent_deg)
        with np.errstate(invalid="ignore"):
            negative = self.declared < 0
            absurd = np.isinf(self.declared) | (self.declared > most)
        point = ~self.err & (self.types == POINT)
        values = self.declared.copy()
        for mask, severity, text in (
            (negative, "warning", _("declared area {v:g} ha ({col}) is negative: ignored")),
            (
                absurd & ~point,
                "warning",
                _(
                    "declared area {v:g} ha ({col}) is more than any plot can have (over {most:.4g} ha, a circle "
                    "qc.max_extent_deg across): ignored"
                ),
            ),
            (
                absurd & point,
                "error",
                _(
                    "declared area {v:g} ha ({col}) is more than any plot can have (over {most:.4g} ha, a circle "
                    "qc.max_extent_deg across): the point's circle cannot be drawn; correct the area"
                ),
            ),
        ):
            idx = np.flatnonzero(mask & ~self.err)
            fill = formatter(text)
            self.out.add(
                idx,
                "declared_area_implausible",
                severity,
                [fill(v=v, col=self.area_col, most=most) for v in values[idx]],
            )
            if severity == "error":
                self.err[idx] = True
        self.declared = np.where(negative | absurd, np.nan, self.declared)

    def points(self) -> None:
        """Points: a geodesic circle of the declared (or default) area; refused when the circle would
        reach a pole, or span more than ``qc.max_extent_deg``."""
        pts = np.flatnonzero(~self.err & (self.types == POINT))
        self.is_point = np.zeros(self.n, dtype=bool)
        self.is_point[pts] = True
        if not len(pts):
            return
        d = self.declared[pts]
        use_declared = np.isfinite(d) & (d > 0)
        area = np.where(use_declared, d, self.params.point_default_area_ha)
        xy = shapely.get_coordinates(self.geoms[pts])
        polar = near_pole(xy[:, 1], area * M2_PER_HA)
        fill = formatter(
            _(
                "a point at latitude {lat:.6g}: a circle of {area:g} ha around it would reach the pole; "
                "no plot lies there"
            )
        )
        self.out.add(
            pts[polar],
            "coordinates_out_of_range",
            "error",
            [fill(lat=y, area=a) for y, a in zip(xy[polar, 1], area[polar])],
        )
        self.err[pts[polar]] = True
        pts, d, area, use_declared, xy = pts[~polar], d[~polar], area[~polar], use_declared[~polar], xy[~polar]
        circles, radius = geodesic_circles(xy[:, 0], xy[:, 1], area * M2_PER_HA, vertices=CIRCLE_VERTICES)
        self.geoms[pts] = circles
        declared = formatter(_("a point: screened as a circle of {area:g} ha (declared), radius {radius:.1f} m"))
        default = formatter(
            _(
                "a point: screened as a circle of {area:g} ha (no declared area: qc.point_default_area_ha), "
                "radius {radius:.1f} m"
            )
        )
        self.out.add(
            pts,
            "point_buffered",
            "warning",
            [(declared if u else default)(area=a, radius=r) for a, u, r in zip(area, use_declared, radius)],
        )
        over = use_declared & (d > EUDR_POINT_MAX_HA)
        fill = formatter(_("a point with a declared area of {area:g} ha: EUDR requires a polygon for plots over 4 ha"))
        self.out.add(pts[over], "point_over_4ha", "warning", [fill(area=a) for a in d[over]])
        self.extents(pts)  # the circle, not the point: before any window is read

    def areas(self) -> None:
        """Areas: collapsed, large, different from the declared area."""
        self.area_ha = np.full(self.n, np.nan)
        live = np.flatnonzero(~self.err)
        self.area_ha[live] = plot_areas(self.geoms[live]) / M2_PER_HA
        zero = np.flatnonzero(~self.err & ~(self.area_ha >= MIN_AREA_M2 / M2_PER_HA))
        fill = formatter(_("the polygon has no area ({m2:.2g} m²: a sliver, its vertices nearly on one line)"))
        self.out.add(zero, "collapsed_polygon", "error", [fill(m2=a * M2_PER_HA) for a in self.area_ha[zero]])
        self.err[zero] = True
        large = np.flatnonzero(~self.err & (self.area_ha > self.params.max_area_ha))
        fill = formatter(_("{area:.2f} ha, more than qc.max_area_ha ({max_area:g} ha)"))
        self.out.add(
            large,
            "large_plot",
            "warning",
            [fill(area=a, max_area=self.params.max_area_ha) for a in self.area_ha[large]],
        )
        with np.errstate(invalid="ignore"):
            diff = self.area_ha - self.declared
            tol = np.maximum(
                np.abs(self.declared) * self.params.area_tolerance_pct / 100, self.params.area_tolerance_ha
            )
            mismatch = np.flatnonzero(~self.err & ~self.is_point & np.isfinite(self.declared) & (np.abs(diff) > tol))
        if len(mismatch):
            share = formatter(_("declared {declared:g} ha ({column}), computed {computed:.4f} ha ({pct:+.1f} %)"))
            zero_declared = formatter(_("declared {declared:g} ha ({column}), computed {computed:.4f} ha"))
            self.out.add(
                mismatch,
                "area_mismatch",
                "warning",
                [
                    share(declared=dd, column=self.area_col, computed=a, pct=100 * (a - dd) / dd)
                    if dd
                    else zero_declared(declared=dd, column=self.area_col, computed=a)
                    for dd, a in zip(self.declared[mismatch], self.area_ha[mismatch])
                ],
            )

    def holes(self) -> None:
        """Holes (allowed; flagged for EUDR export)."""
        polys = np.flatnonzero(~self.err & ~self.is_point)
        holes = hole_counts(self.geoms[polys])
        fill = formatter(_("{holes} hole(s): not counted as part of the plot; EUDR files may not accept holes"))
        self.out.add(polys[holes > 0], "has_holes", "info", [fill(holes=h) for h in holes[holes > 0]])

    def generated_ids(self) -> None:
        """Rows whose id was made from the row number."""
        generated = np.asarray(self.plots.attrs.get("id_generated", np.zeros(self.n, dtype=bool)), dtype=bool)
        idx = np.flatnonzero(generated)
        self.out.add(idx, "generated_id", "warning", _("no plot id in the input; the id was made from the row number"))


def _range_messages(bounds: np.ndarray, vertex: np.ndarray) -> list[str]:
    """The ``coordinates_out_of_range`` messages of rows with these bounds and first non-finite
    vertex (0: none)."""
    vertex_fill = formatter(
        _(
            "coordinates are not finite (vertex {vertex} is NaN or infinite): a gap in the export or a failed "
            "reprojection?"
        )
    )
    not_finite = _("coordinates are not finite numbers (a failed reprojection?)")
    outside = formatter(
        _(
            "coordinates outside longitude ±180 / latitude ±90 (x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to "
            "{ymax:.6g}): projected coordinates with a longitude/latitude CRS? state the right --crs"
        )
    )
    return [
        vertex_fill(vertex=v)
        if v
        else not_finite
        if not np.isfinite(b).all()
        else outside(xmin=b[0], xmax=b[2], ymin=b[1], ymax=b[3])
        for b, v in zip(bounds, vertex)
    ]
