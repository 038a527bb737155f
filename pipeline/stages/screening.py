"""Screening: plots and loss products in, figures, statuses and issues out (frames, no files).

:func:`screen_plots` takes plots already read (a GeoDataFrame, see :func:`pipeline.io.plots.read_plots`)
and one or more opened loss products, runs the quality control (:mod:`pipeline.stages.qc`),
measures every screenable plot on every product (:func:`pipeline.engine.zonal.measure_product`),
applies the rules (:mod:`pipeline.stages.rules`) and returns a :class:`ScreenResult`.

With several products, the first is the *primary* one: its figures fill the unprefixed columns
(``forest_2000_ha``, ``loss_2021_ha``...). Every product also gets its own columns prefixed with
its name (``tmf_loss_after_ref_ha``, ``tmf_status``...) and the plot's ``status`` follows
``status_rule`` (:data:`pipeline.stages.rules.COMBINE_RULES`). Alert products
(:mod:`pipeline.stages.alerts`) always get prefixed columns (``gfw_integrated_alert_ha``...) and
take part in the status the same way; their area per month is the ``alerts_by_month`` frame.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import __version__
from ..config import ExecutionConfig, QCConfig, ScreeningConfig
from ..engine.memory import tune_allocator
from ..engine.stats import derive_figures
from ..engine.zonal import measure_product
from ..reasons import REASON_COLUMNS, decode, part
from ..reasons import columns as reason_columns
from ..vocab import (
    ALERTS_BY_MONTH,
    ALERTS_KIND,
    ASSESSED,
    DETECTED,
    LOSS_PATCHES,
    MAIN_COLUMNS,
    OVERLAY_KIND,
    PLOT_KEY_COLUMNS,
    REVIEW,
    STATUSES,
    ZERO_HA,
    attribute_names,
)
from .alerts import alert_columns, alerts_by_month, classify_alerts, measure_alerts, months_layer
from .fieldcheck import loss_years
from .overlays import apply_overlay_effects, overlay_columns
from .patches import EDGE_ONLY_REASON, edge_only, loss_patches
from .qc import QCResult, check_plots
from .reviews import apply_reviews, counted_loss, latest_reviews
from .rules import classify, combine

log = logging.getLogger(__name__)


@dataclass
class ScreenResult:
    plots: gpd.GeoDataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)
    reused: int = 0  # plots whose figures an incremental run took from the previous output
    baseline: Any = None  # a pipeline.stages.baseline.BaselineResult when the job asks for one
    alerts_by_month: pd.DataFrame | None = None  # with alert products: area per plot, month, confidence
    alert_products: list[str] = field(default_factory=list)
    loss_patches: gpd.GeoDataFrame | None = None  # every patch of forest lost after the reference year
    exports: list[Any] = field(default_factory=list)  # pipeline.stages.export.ExportResult, one per export
    report: Any = None  # the report's path, when the job writes one

    @property
    def issue_counts(self) -> pd.Series:
        """Findings by (severity, code)."""
        return self.issues.groupby(["severity", "code"]).size()

    def summary(self) -> pd.DataFrame:
        """Plots and hectares per status (every status listed, in a fixed order)."""
        return status_summary(self.plots)

    def alert_summary(self, name: str) -> tuple[int, float, int, int, int]:
        """For an alert product: plots with alerts, their area (ha), and plots it finds
        deforestation_detected, review and not_assessed."""
        ha = self.plots[f"{name}_alert_ha"].fillna(0.0)
        status = self.plots[f"{name}_status"]
        return (
            int((ha > 0).sum()),
            float(ha.sum()),
            *(int((status == s).sum()) for s in ("deforestation_detected", "review", "not_assessed")),
        )


def status_summary(plots: pd.DataFrame, *, total: bool = True) -> pd.DataFrame:
    """Plots and hectares per status (every status listed, in a fixed order, and a total row);
    summaries of parts add up (``total=False``, then :func:`add_total`)."""
    g = plots.groupby("status")
    out = (
        pd.DataFrame(
            {
                "plots": g.size(),
                "area_ha": g["area_ha"].sum(),
                "loss_after_ref_ha": g["loss_after_ref_ha"].sum(),
            }
        )
        .reindex(list(STATUSES))
        .fillna(0)
    )
    return add_total(out) if total else out


def add_total(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary with its ``total`` row."""
    out = summary.copy()
    out.loc["total"] = out.sum()
    out["plots"] = out["plots"].astype(int)
    return out


def key_prefix(products: Sequence[Any], screening: ScreeningConfig) -> bytes:
    """What every plot's ``screen_key`` shares: every parameter, every product's files
    (:meth:`pipeline.io.rasters.Product.fingerprint`) and the cacao-screen version."""
    # every parameter but the exit-code threshold, which changes no figure
    params = screening.model_dump(exclude={"max_not_assessed_pct"})
    common = repr((__version__, params, [p.fingerprint() for p in products])).encode()
    return hashlib.blake2b(common, digest_size=16).digest()


def screen_keys(
    geoms: np.ndarray,
    products: Sequence[Any],
    screening: ScreeningConfig,
    *,
    prefix: bytes | None = None,
    wkb: np.ndarray | None = None,
) -> np.ndarray:
    """A key per plot that changes whenever its figures could: the geometry screened, every
    parameter, every product's files, and the cacao-screen version (``prefix``: what
    :func:`key_prefix` gives, computed once for many calls; ``wkb``: the geometries' WKB, when at
    hand). Empty for unscreened plots."""
    prefix = key_prefix(products, screening) if prefix is None else prefix
    wkb = shapely.to_wkb(geoms) if wkb is None else wkb
    return np.array(
        ["" if w is None else hashlib.blake2b(prefix + w, digest_size=12).hexdigest() for w in wkb], dtype=object
    )


def screen_plots(
    plots: gpd.GeoDataFrame,
    products: Any | Sequence[Any],
    screening: ScreeningConfig = ScreeningConfig(),
    *,
    qc: QCConfig = QCConfig(),
    execution: ExecutionConfig = ExecutionConfig(),
    client: Any = None,
    progress: bool = False,
    previous: pd.DataFrame | None = None,
    reviews: pd.DataFrame | None = None,
    previous_patches: pd.DataFrame | None = None,
) -> ScreenResult:
    """Screen normalised plots (see :func:`pipeline.io.plots.normalise`) against loss products.

    Every row of ``plots`` comes out, in the same order, with figures, ``status``,
    ``deforestation_free`` and ``status_reason``. ``products`` are opened products
    (:func:`pipeline.io.rasters.open_product`), the primary first, and alert products
    (:func:`pipeline.io.alerts.open_alert_product`) anywhere after it. ``previous`` (the ``plots``
    layer of an earlier output) makes the run incremental: a plot whose ``screen_key`` is found
    there keeps the loss figures stored with it instead of being computed again — the same figures
    a full run gives, since the key covers everything they depend on (alert figures are always
    measured: alert files change daily). ``reviews`` (the review log, see
    :func:`pipeline.io.fieldpack.read_reviews`) settles plots checked in the field
    (:mod:`.reviews`). ``execution`` says where the partitions run (``client``: a
    ``distributed.Client`` to use instead); the figures do not depend on it.

    The whole frame is held in memory; :func:`pipeline.job.run` screens a file of any size in
    chunks with :func:`screen_checked`, which this function calls once.
    """
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        raise ValueError("plots must be in EPSG:4326 (use pipeline.io.plots.read_plots)")
    every = list(products) if isinstance(products, (list, tuple)) else [products]
    loss_products = [p for p in every if getattr(p, "kind", None) not in (ALERTS_KIND, OVERLAY_KIND)]
    if not loss_products:
        raise ValueError("no loss product to screen against")
    checked = check_plots(plots, qc, coverage_bounds=loss_products[0].bounds)
    for product in every:  # open and check the tiles under the plots before the work
        if hasattr(product, "require"):
            product.require(_bounds(checked.geometry))
    part = screen_checked(
        plots,
        checked,
        every,
        screening,
        execution=execution,
        client=client,
        progress=progress,
        previous=previous,
        previous_patches=previous_patches,
        edge_buffer_m=qc.edge_buffer_m,
        reviews=None if reviews is None else latest_reviews(reviews),
    )
    return ScreenResult(
        _with_input(plots, part.columns),
        part.loss_by_year,
        part.issues,
        reused=part.reused,
        alerts_by_month=part.alerts_by_month,
        alert_products=part.alert_products,
        loss_patches=part.loss_patches,
    )


def _bounds(geoms: np.ndarray) -> np.ndarray:
    live = np.array([g is not None for g in geoms], dtype=bool)
    return shapely.bounds(geoms[live]) if live.any() else np.zeros((0, 4))


@dataclass
class ScreenedPart:
    """A set of plots screened: the columns the screening adds to the ``plots`` layer (a frame on
    the plots' index), their ``loss_by_year`` and ``plot_issues`` rows, how many were reused, and
    with alert products their ``alerts_by_month`` rows; their ``loss_patches``."""

    columns: pd.DataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    reused: int = 0
    alerts_by_month: pd.DataFrame | None = None
    alert_products: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)  # the overlays measured (their columns' prefixes)
    loss_patches: gpd.GeoDataFrame | None = None

    def extra_layers(self) -> dict[str, pd.DataFrame]:
        """The layers of the screening beside ``plots``, ``loss_by_year`` and ``plot_issues``."""
        out: dict[str, pd.DataFrame] = {}
        if self.alerts_by_month is not None:
            out[ALERTS_BY_MONTH] = self.alerts_by_month
        if self.loss_patches is not None:
            out[LOSS_PATCHES] = self.loss_patches
        return out


def screen_checked(
    plots: pd.DataFrame,
    checked: QCResult,
    products: Sequence[Any],
    screening: ScreeningConfig,
    *,
    execution: ExecutionConfig = ExecutionConfig(),
    client: Any = None,
    progress: bool = False,
    previous: pd.DataFrame | None = None,
    prefix: bytes | None = None,
    large_progress: bool | None = None,
    wkb: np.ndarray | None = None,
    edge_buffer_m: float = QCConfig().edge_buffer_m,
    reviews: pd.DataFrame | None = None,
    previous_patches: pd.DataFrame | None = None,
) -> ScreenedPart:
    """Measure and classify plots that quality control has checked (``checked``: their
    :class:`~pipeline.stages.qc.QCResult`; ``wkb``: the WKB of the geometries it screens, None
    where there is none, when at hand). ``plots`` needs only ``plot_id`` and ``source_row``;
    ``products``: the loss products, the primary first, and the alert products (``prefix``: what
    :func:`key_prefix` gives for the loss products). Each plot's figures depend on it alone, so any
    set of plots gives each the same figures. The loss patches come from the same pass
    (:mod:`.patches`); a plot whose patches all lie within ``edge_buffer_m`` of its boundary gets
    ``edge_only_loss``. ``reviews`` (:func:`.reviews.latest_reviews`): the field checks that settle
    plots, applied after the satellite rules. ``previous_patches``: the ``loss_patches`` of the
    ``previous`` output, the patches of the plots it reuses (without it, a reused plot with loss
    after the reference year is measured again for its patches)."""
    tune_allocator()
    every = list(products)
    alert_products = [p for p in every if getattr(p, "kind", None) == ALERTS_KIND]
    overlays = [p for p in every if getattr(p, "kind", None) == OVERLAY_KIND]
    products = [p for p in every if getattr(p, "kind", None) not in (ALERTS_KIND, OVERLAY_KIND)]
    geoms = checked.geometry  # what is screened: the input geometry, or QC's repair of it
    keys = screen_keys(geoms, products, screening, prefix=prefix, wkb=wkb)
    reuse, matched = _reusable(previous, keys, checked.screenable, len(plots))
    # a reused plot with loss after the reference year takes its patches from the previous
    # output, or is measured again for them
    remeasure = _lost_after(matched, reuse, products) if previous_patches is None else np.zeros(len(reuse), bool)
    to_compute = np.where(reuse & ~remeasure, None, geoms)
    figures: dict[str, pd.DataFrame] = {}
    verdicts: dict[str, pd.DataFrame] = {}
    patches = []
    for product in products:
        stats = measure_product(
            to_compute,
            product,
            screening,
            execution,
            progress=progress,
            client=client,
            large_progress=large_progress,
            cells_from_year=screening.reference_year + 1,
        )
        patches.append(
            loss_patches(
                stats.loss_cells(),
                plots["plot_id"].to_numpy(),
                plots["source_row"].to_numpy(),
                geoms,
                checked.area_ha,
                product.grid,
                product.years,
                product.name,
            )
        )
        fig = derive_figures(stats, np.array(product.years), screening.reference_year)
        fig.loc[~checked.screenable, "data_coverage_pct"] = np.nan
        if product.tree_cover is None and product.forest_mask is None:
            # no forest layer: loss counts wherever the product flags it; forest area is unknown
            fig[["forest_2000_ha", "forest_ref_ha"]] = np.nan
        if reuse.any():
            prefix_col = "" if len(products) == 1 else f"{product.name}_"
            for col in [*MAIN_COLUMNS, *(f"loss_{y}_ha" for y in product.years)]:
                fig.loc[reuse, col] = matched[prefix_col + col].to_numpy()
            fig.loc[reuse, ["_missing_pct", "_invalid_pct"]] = 0.0
        fig.index = plots.index
        figures[product.name] = fig
        verdicts[product.name] = classify(fig, checked.error_reason, screening)
    alert_blocks, months = [], []
    for product in alert_products:
        fig, stats = measure_alerts(geoms, product, screening, execution, progress=progress, client=client)
        fig.loc[~checked.screenable, "data_coverage_pct"] = np.nan
        fig.index = plots.index
        verdicts[product.name] = v = classify_alerts(fig, checked.error_reason, screening, product)
        own = pd.concat([v[["status", *REASON_COLUMNS]], fig[alert_columns(product)]], axis=1)
        alert_blocks.append(own.add_prefix(f"{product.name}_"))
        months.append(alerts_by_month(plots, product, stats))
    verdict = combine(verdicts, screening.status_rule)
    if previous_patches is not None and reuse.any():
        patches.append(_reused_patches(previous_patches, matched, plots[reuse]))
    patch_layer = pd.concat(patches, ignore_index=True) if len(patches) > 1 else patches[0]
    if len(patches) > 1:
        patch_layer = patch_layer.sort_values(["source_row"], kind="stable", ignore_index=True)
    verdict = with_edge_flag(verdict, patch_layer, plots["source_row"], geoms, edge_buffer_m)
    if reviews is not None:
        now = counted_loss(pd.concat([figures[products[0].name][["loss_after_ref_ha"]], *alert_blocks], axis=1))
        years = plots["plot_id"].astype(str).map(loss_years(patch_layer)).fillna("")
        verdict = apply_reviews(verdict, plots["plot_id"], now, years, reviews)
    if overlays:  # what lies under each plot, and its effect on the status (after the loss rules)
        block = overlay_columns(geoms, checked.area_ha, overlays).set_axis(plots.index)
        verdict = apply_overlay_effects(verdict, block, overlays)
        alert_blocks.append(block)
    columns = _our_columns(plots, products, checked, keys, verdict, figures, verdicts, alert_blocks)
    return ScreenedPart(
        columns,
        loss_by_year(plots, products, figures),
        checked.issues,
        int(reuse.sum()),
        alerts_by_month=months_layer(months) if alert_products else None,
        alert_products=[p.name for p in alert_products],
        overlays=[o.name for o in overlays],
        loss_patches=patch_layer,
    )


def _reused_patches(previous_patches: pd.DataFrame, matched: pd.DataFrame, reused: pd.DataFrame) -> pd.DataFrame:
    """The patches of the reused plots, from the previous output's: found by the previous row
    of the same ``screen_key``, given the plot's id and row of this run."""
    rows = pd.Series(
        reused["source_row"].to_numpy(), index=matched["source_row"].to_numpy(dtype="int64")
    ).drop_duplicates()
    ids = pd.Series(reused["plot_id"].to_numpy(dtype=object), index=rows.index)
    old = previous_patches[previous_patches["source_row"].isin(rows.index)]
    out = old.assign(plot_id=old["source_row"].map(ids).to_numpy(), source_row=old["source_row"].map(rows).to_numpy())
    return out[previous_patches.columns]


def _lost_after(matched: pd.DataFrame | None, reuse: np.ndarray, products: Sequence[Any]) -> np.ndarray:
    """Among the plots an incremental run reuses, those with loss after the reference year on
    any product (their patches are not stored with their figures)."""
    out = np.zeros(len(reuse), dtype=bool)
    if matched is None or not reuse.any():
        return out
    lost = np.zeros(int(reuse.sum()), dtype=bool)
    for p in products:
        col = ("" if len(products) == 1 else f"{p.name}_") + "loss_after_ref_ha"
        lost |= matched[col].to_numpy(dtype="float64", na_value=0.0) >= ZERO_HA
    out[reuse] = lost
    return out


def with_edge_flag(
    verdict: pd.DataFrame, patches: pd.DataFrame, source_rows: pd.Series, geoms: np.ndarray, edge_buffer_m: float
) -> pd.DataFrame:
    """The verdict with ``edge_only_loss`` (after ``deforestation_free``): True for a plot whose
    loss patches all lie within ``edge_buffer_m`` of its boundary; the reason of such a plot in
    ``review`` or ``deforestation_detected`` says to check the boundary first."""
    rows = source_rows.to_numpy()
    edge = edge_only(patches, pd.Series(np.asarray(geoms, dtype=object), index=rows), edge_buffer_m)
    flag = pd.Series(rows).map(edge).fillna(False).to_numpy(dtype=bool)
    out = verdict.copy()
    out.insert(out.columns.get_loc("deforestation_free") + 1, "edge_only_loss", flag)
    flagged = np.flatnonzero(flag & out["status"].isin([REVIEW, DETECTED]).to_numpy())
    if len(flagged):
        note = part(EDGE_ONLY_REASON, buffer_m=float(edge_buffer_m))
        stored = out["status_reason_params"].to_numpy(dtype=object)
        new = reason_columns([[*decode(stored[i]), note] for i in flagged])
        for name in REASON_COLUMNS:
            values = out[name].to_numpy(dtype=object).copy()
            values[flagged] = new[name]
            out[name] = values
    return out


#: The column holding each row's integrity digest: its ``screen_key``, ``status`` and the figures
#: an incremental run reuses, hashed, so that a row edited since cacao-screen wrote it is recomputed.
ROW_DIGEST = "row_digest"


def reused_columns(products: Sequence[Any]) -> list[str]:
    """The figures an incremental run takes from a previous output, as the ``plots`` layer names them."""
    multi = len(products) > 1
    return [
        (f"{p.name}_" if multi else "") + col
        for p in products
        for col in (*MAIN_COLUMNS, *(f"loss_{y}_ha" for y in p.years))
    ]


def _multipliers(k: int) -> np.ndarray:
    """``k`` fixed odd 64-bit multipliers (SplitMix64's sequence from a fixed seed)."""
    out, x, mask = [], 0x6361_6361_6F2D_7363, (1 << 64) - 1  # "caca o-sc"
    for _ in range(k):
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype="uint64")


def _avalanche(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit reaches every output bit."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


_HEX = np.zeros(256, dtype="uint8")
_HEX[48:58] = np.arange(10)
_HEX[97:103] = _HEX[65:71] = np.arange(10, 16)


def _key_lanes(keys: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """A ``screen_key`` (24 hex digits: 96 bits) as two 64-bit lanes, vectorised. Anything else
    (empty, edited) gives some value: it can never equal a key the run computes, so never reused."""
    text = np.asarray(keys, dtype=object).astype("S24")
    digits = _HEX[np.frombuffer(text.tobytes(), dtype="uint8").reshape(len(text), 24)]
    packed = np.zeros((len(text), 16), dtype="uint8")
    packed[:, :12] = (digits[:, 0::2] << 4) | digits[:, 1::2]
    lanes = packed.view("<u8")
    return lanes[:, 0].astype("uint64"), lanes[:, 1].astype("uint64")


def _text_hashes(values: Sequence[Any]) -> np.ndarray:
    """A stable 64-bit hash of each value's text (few distinct values: statuses)."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str), sort=False)
    own = np.array(
        [int.from_bytes(hashlib.blake2b(str(u).encode(), digest_size=8).digest(), "little") for u in uniques],
        dtype="uint64",
    )
    return own[codes] if len(own) else np.zeros(len(codes), dtype="uint64")


def row_digests(keys: Sequence[Any], status: Sequence[Any], values: Sequence[Any]) -> np.ndarray:
    """A 64-bit digest per row (int64) of its ``screen_key``, ``status`` and figures (``values``:
    one column each), as stored: NaN and NULL alike, -0 as 0, so that the digest of a row read back
    equals the one written. Vectorised (a million rows in a fraction of a second): each part's 64
    bits times a fixed odd multiplier of its own, summed, then mixed (SplitMix64's finaliser). A
    single changed value always changes the sum (odd multipliers are invertible modulo 2^64). It
    detects edits, not forgery."""
    n = len(keys)
    if not n:
        return np.zeros(0, dtype="int64")
    mult = _multipliers(3 + len(values))
    lane0, lane1 = _key_lanes(keys)
    states = _text_hashes(status)
    with np.errstate(over="ignore"):
        h = lane0 * mult[0] + lane1 * mult[1] + states * mult[2]
        for j, col in enumerate(values):
            v = pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype="float64", na_value=np.nan).copy()
            v[np.isnan(v)] = np.nan
            v[v == 0] = 0.0
            h += v.view("uint64") * mult[3 + j]
        return _avalanche(h).view("int64")


def verified_previous(
    previous: pd.DataFrame | None, products: Sequence[Any], source: str
) -> tuple[pd.DataFrame | None, int]:
    """The rows of a previous output an incremental run may reuse: those whose ``row_digest``
    matches their figures (a row edited since, in QGIS or elsewhere, is recomputed), and how many
    failed the check. A previous output lacking a column gives a warning and a full run (None)."""
    if previous is None:
        return None, 0
    needed = ["screen_key", ROW_DIGEST, "status", *reused_columns(products)]
    missing = [c for c in needed if c not in previous.columns]
    if missing:
        log.warning(
            "%s: the previous output lacks the column(s) %s (edited, or written by an older version); "
            "screening every plot",
            source,
            ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else ""),
        )
        return None, 0
    keys = previous["screen_key"].fillna("").astype(str).to_numpy()
    status = previous["status"].fillna("").astype(str).to_numpy()
    digests = row_digests(keys, status, [previous[c] for c in needed[3:]])
    stored = pd.to_numeric(previous[ROW_DIGEST], errors="coerce").fillna(0).to_numpy(dtype="int64")
    ok = digests == stored
    rejected = int((~ok & (keys != "")).sum())
    if rejected:
        log.warning(
            "%s: %d stored row(s) fail the integrity check (changed since cacao-screen wrote them): "
            "their plots are screened again",
            source,
            rejected,
        )
    return previous[ok], rejected


def _reusable(
    previous: pd.DataFrame | None, keys: np.ndarray, screenable: np.ndarray, n: int
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Which plots an incremental run can take from ``previous``, and their stored rows (in order).

    Only assessed plots are reused: a ``not_assessed`` plot's reason needs more than its figures."""
    reuse = np.zeros(n, dtype=bool)
    if previous is None or not len(previous) or "screen_key" not in previous:
        return reuse, None
    prev = previous[previous["status"].isin(ASSESSED)].drop_duplicates("screen_key").set_index("screen_key")
    # a hash lookup: np.isin on text compares every key with every stored key (17 s for 40,000 plots)
    reuse = screenable & pd.Index(keys).isin(prev.index)
    log.info("incremental: %d of %d plots unchanged since the previous output", reuse.sum(), n)
    return reuse, prev.loc[keys[reuse]]


def _our_columns(
    plots: pd.DataFrame,
    products: list,
    checked: QCResult,
    keys: np.ndarray,
    verdict: pd.DataFrame,
    figures: dict[str, pd.DataFrame],
    verdicts: dict[str, pd.DataFrame],
    alert_blocks: Sequence[pd.DataFrame] = (),
) -> pd.DataFrame:
    """The columns the screening adds to the ``plots`` layer: the verdict, the figures, QC columns,
    then each product's own columns (loss products when there are several; alert products always)."""
    primary = products[0]
    fig = figures[primary.name]
    blocks = [
        verdict,
        pd.DataFrame({"area_ha": checked.area_ha}, index=plots.index),  # measured by QC on what is screened
        fig[list(MAIN_COLUMNS)],
        pd.DataFrame(
            {"qc_status": checked.qc_status, "qc_summary": checked.qc_summary, "screen_key": keys}, index=plots.index
        ),
        fig[[f"loss_{y}_ha" for y in primary.years]],
    ]
    if len(products) > 1:
        for product in products:
            f, v = figures[product.name], verdicts[product.name]
            own = pd.concat(
                [v[["status", *REASON_COLUMNS]], f[list(MAIN_COLUMNS)], f[[f"loss_{y}_ha" for y in product.years]]],
                axis=1,
            )
            blocks.append(own.add_prefix(f"{product.name}_"))
    blocks.extend(alert_blocks)
    # One frame from the blocks' columns, without copying them again (a million plots' figures
    # are hundreds of MB).
    columns = {name: _column_data(block[name]) for block in blocks for name in block.columns}
    digests = row_digests(keys, verdict["status"].to_numpy(), [columns[c] for c in reused_columns(products)])
    at = list(columns).index("screen_key") + 1
    items = list(columns.items())
    columns = dict([*items[:at], (ROW_DIGEST, digests), *items[at:]])
    return pd.DataFrame(columns, index=plots.index, copy=False)


def input_names(attributes: Sequence[str], ours: Sequence[str]) -> dict[str, str]:
    """The input attributes whose name is taken — by the screening's own columns, by ``plot_id`` or
    ``source_row``, case aside (:func:`pipeline.vocab.attribute_names`) — and the name each is kept
    under (``input_<name>``)."""
    names = attribute_names(list(attributes), [*PLOT_KEY_COLUMNS, *ours])
    return {a: n for a, n in zip(attributes, names) if a != n}


def _with_input(plots: gpd.GeoDataFrame, columns: pd.DataFrame) -> gpd.GeoDataFrame:
    """The ``plots`` layer: the input's ids and attributes, then the screening's columns."""
    attrs = [c for c in plots.columns if c not in (*PLOT_KEY_COLUMNS, plots.geometry.name)]
    names = attribute_names(attrs, [*PLOT_KEY_COLUMNS, *columns.columns])
    first = _renamed(plots[[*PLOT_KEY_COLUMNS, *attrs]], [*PLOT_KEY_COLUMNS, *names])
    data = {name: _column_data(first.iloc[:, j]) for j, name in enumerate(first.columns)}
    data.update({name: _column_data(columns[name]) for name in columns.columns})
    data["geometry"] = plots.geometry
    return gpd.GeoDataFrame(pd.DataFrame(data, index=plots.index, copy=False), geometry="geometry", crs="EPSG:4326")


def _renamed(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame`` with its columns called ``names`` (positionally: repeated names are fine)."""
    out = frame.copy(deep=False)
    out.columns = names
    return out


def _column_data(col: pd.Series):
    """A column's data as it is stored (numpy array or extension array): no copy."""
    return col.array if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else col.to_numpy()


def loss_by_year(plots: pd.DataFrame, products: Sequence[Any], figures: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long format (plot_id, source_row, product, year, loss_ha), only plot-years with loss, by plot
    then product then year; found through a boolean plot x year matrix, so the hundreds of MB of a
    float matrix are never made."""
    ids = plots["plot_id"].to_numpy()
    rows = plots["source_row"].to_numpy()
    parts = []
    for product in products:
        fig = figures[product.name]
        cols = [fig[f"loss_{y}_ha"].to_numpy(dtype="float64", na_value=0.0) for y in product.years]
        has = np.zeros((len(fig), len(cols)), dtype=bool)
        for j, col in enumerate(cols):
            has[:, j] = col > 0
        i, j = np.nonzero(has)  # row-major: by plot, then year
        del has
        loss = np.empty(len(i))
        for k, col in enumerate(cols):
            at = np.flatnonzero(j == k)
            loss[at] = col[i[at]]
        parts.append(
            pd.DataFrame(
                {
                    "plot_id": pd.Series(ids[i], dtype=object),
                    "source_row": rows[i],
                    "product": product.name,
                    "year": np.asarray(product.years, dtype="int64")[j],
                    "loss_ha": loss,
                }
            )
        )
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(products) > 1:
        out = out.sort_values(["source_row"], kind="stable", ignore_index=True)  # products stay in order
    return out


def forest_text(forest) -> str:
    """The forest definition in words, for the metadata (of the screening, and of the baseline's
    rings and region totals)."""
    return f"treecover2000 {forest.canopy_operator} {forest.canopy_threshold:g} %" + (
        f", patches >= {forest.min_forest_patch_ha:g} ha ({forest.patch_connectivity}-connected)"
        if forest.min_forest_patch_ha > 0
        else ""
    )
