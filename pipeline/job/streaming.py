"""A plots file of any size screened in bounded memory: :func:`screen_in_chunks`.

Memory is bounded by a chunk of plots, not by the registry. The plots file is read once, in
batches: each batch gets the quality-control checks of single rows and goes to a spill file
(:mod:`pipeline.io.spill`) beside the output, sorted by location (the raster block under each
plot). Then come the checks across rows that reach beyond a chunk — duplicated ids, plots larger
than a raster block — and the chunks of ``execution.chunk_plots`` plots, in location order: each
is read back, checked against its neighbours for duplicated and overlapping geometries, screened
(two at a time) and written to the GeoPackage, in order, while the next are screened. The
figures, statuses and findings are those of screening the whole file at once; the rows come out
in location order (see docs/outputs.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from ..config import RunConfig
from ..engine.arrays import string_hashes
from ..engine.boxes import Occupied
from ..engine.overlay import OverlayLayer
from ..engine.partitions import KeyGrid
from ..engine.schedulers import NoBar, progress_bar
from ..i18n import _
from ..io.alerts import AlertProduct
from ..io.class_maps import ClassMap
from ..io.gpkg import Finish, ScreeningWriter, arrow_table, layer_geometry_type, output_wkb
from ..io.outputs import Staged
from ..io.plots import PlotBatch, PlotStream
from ..io.raster_content import check_content
from ..io.rasters import Product, require_tiles
from ..io.spill import AREA_HA, BIG, BOUNDS, CROSS_COLUMNS, GEOM, ISSUES, KEY, SCREENED, Chunk, Position, Spill
from ..stages.qc.checks import RowChecks, check_rows, duplicate_id_issues, finish
from ..stages.qc.cross import CrossIssues, PendingIssues, cross_plot_checks
from ..stages.reuse import key_prefix
from ..stages.screening import Earlier, Measuring, ScreenedPart, input_names, screen_checked, status_summary
from ..vocab import DETECTED, NOT_ASSESSED, REVIEW
from .common import Phases

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class StreamJob:
    """What :func:`screen_in_chunks` screens, with what, and where it writes."""

    cfg: RunConfig
    products: list[Product | AlertProduct | ClassMap]  # the loss products (the primary first), then the alert products
    stream: PlotStream
    previous: pd.DataFrame | None  # an incremental run's verified rows of the previous output
    staging: Path  # a private folder beside the output, for the spill and the writer's files
    client: Any  # the scheduler (engine.schedulers.cluster)
    progress: bool
    overwrite: bool
    staged: Staged | None = None  # the output's temporary name, published by the caller
    overlays: tuple[OverlayLayer, ...] = ()  # vector layers measured under each plot (stages.overlays)
    previous_patches: pd.DataFrame | None = None  # the previous output's loss_patches (incremental)
    reviews: pd.DataFrame | None = None  # the latest field check of each plot (stages.reviews.latest_reviews)

    @property
    def loss_products(self) -> list[Product]:
        return [p for p in self.products if isinstance(p, Product)]


@dataclass
class StreamTotals:
    """What the screened chunks add up to: the plots in and out, reused (incremental), the plots
    and hectares per status, the findings by (severity, code), per alert product its counts (see
    ``JobResult.alert_summary``), the reasons of ``not_assessed`` plots; the lazily indexed tiles
    under the plots; the columns of each layer written."""

    plots_in: int = 0
    plots_out: int = 0
    reused: int = 0
    statuses: pd.DataFrame | None = None
    issues: dict[Any, int] = field(default_factory=lambda: defaultdict(int))  # (severity, code)
    alerts: dict[str, list[float]] = field(default_factory=dict)
    overlays: dict[str, list[float]] = field(default_factory=dict)  # name -> plots overlapping, ha, made review
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tiles: set[str] = field(default_factory=set)
    layer_columns: dict[str, list[str]] = field(default_factory=dict)

    def add(self, part: ScreenedPart) -> None:
        s = status_summary(part.columns, total=False)
        self.statuses = s if self.statuses is None else self.statuses + s
        for key, k in part.issues.groupby(["severity", "code"]).size().items():
            self.issues[key] += int(k)
        self.reused += part.reused
        status = part.columns["status"]
        for reason, k in part.columns.loc[status == NOT_ASSESSED, "status_reason"].value_counts().items():
            self.reasons[str(reason)] += int(k)
        for name in part.alert_products:
            ha = part.columns[f"{name}_alert_ha"].fillna(0.0)
            status = part.columns[f"{name}_status"]
            counts = [(ha > 0).sum(), ha.sum(), *((status == s).sum() for s in (DETECTED, REVIEW, NOT_ASSESSED))]
            old = self.alerts.get(name, [0, 0.0, 0, 0, 0])
            self.alerts[name] = [a + float(b) for a, b in zip(old, counts)]
        for name in part.overlays:
            ha = part.columns[f"{name}_overlap_ha"].fillna(0.0)
            review = part.columns["status_reason_params"].str.startswith('[{"code":"overlay_review"')
            review &= part.columns["status_reason_params"].str.contains(f'"overlay":"{name}"', regex=False)
            old = self.overlays.get(name, [0, 0.0, 0])
            self.overlays[name] = [
                old[0] + float((ha > 0).sum()),
                old[1] + float(ha.sum()),
                old[2] + float(review.sum()),
            ]


#: Given the totals, the screening's metadata and the last step of writing its GeoPackage.
Finishing = Callable[[StreamTotals], tuple[dict[str, str], Finish]]


def screen_in_chunks(job: StreamJob, phases: Phases, finishing: Finishing) -> StreamTotals:
    """Screen ``job.stream`` in two passes and chunks (see the module docstring), write the
    screening's GeoPackage (finished with what ``finishing`` gives for the totals); return the
    totals."""
    keygrid = KeyGrid(job.loss_products[0].grid)
    spill = Spill(job.staging)
    scan = _first_pass(job, spill, keygrid, phases)
    # --- checks across rows that reach beyond a chunk ------------------------------------------
    pending = PendingIssues()
    min_share = job.cfg.qc.overlap_min_share
    with phases("duplicate ids and large plots"):
        _duplicate_ids(spill, scan, pending)
        big = _large_plots(spill, scan, pending, min_share)
    totals = StreamTotals(plots_in=spill.rows, tiles=scan.tiles)
    checks = partial(_chunk_checks, spill=spill, keygrid=keygrid, pending=pending, big=big, min_share=min_share)
    writer = ScreeningWriter(
        job.cfg.output.path,
        overwrite=job.overwrite,
        geometry_type=layer_geometry_type(scan.types),
        staging=job.staging,
        rows=spill.rows,
        staged=job.staged,
    )
    with writer:
        _second_pass(job, spill.plan(job.cfg.execution.chunk_plots), checks, writer, totals, phases)
        if writer.rows != totals.plots_in:  # the invariant the whole design protects
            raise RuntimeError(f"internal error: {totals.plots_in} plots in, {writer.rows} out")
        totals.plots_out = writer.rows
        with phases("write"):
            writer.finish(*finishing(totals))
    log.info(
        "writing the GeoPackage: %(work).1f s of work (on its own thread, and the last tables at the end); "
        "the writer waited %(wait).1f s for the screening's rows",
        {"work": writer.write_s, "wait": writer.wait_s},
    )
    return totals


# --- Pass 1: read, check every row, spill in location order ---------------------------------------


@dataclass
class _Scan:
    """What the first pass keeps besides the spill: a few bytes per plot, and the large plots."""

    hashes: list = field(default_factory=list)  # a hash of every plot's id, batch by batch
    big: list = field(default_factory=list)  # (source rows, ids, geometries, areas) of plots wider than a block
    types: set = field(default_factory=set)  # geometry types of the input
    tiles: set = field(default_factory=set)  # paths of the lazily indexed tiles under the plots
    sample: list = field(default_factory=list)  # a few geometries of each batch

    def add(self, found: tuple) -> None:
        hashes, big, types, tiles, sample = found
        self.hashes.append(hashes)
        if big is not None:
            self.big.append(big)
        self.types |= types
        self.tiles |= tiles
        self.sample.append(sample)


def _ordered(items: Iterable[T], fn: Callable[[T], R], *, workers: int, ahead: int) -> Iterator[R]:
    """``fn(item)`` for each item, on ``workers`` threads with at most ``ahead`` items in flight
    (memory holds those), yielded in the items' order. The items are drawn in this thread."""
    with ThreadPoolExecutor(workers, thread_name_prefix="cacao-screen-pass") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


#: Rows spilled together as one run (sorted by location) in the first pass: each run costs each
#: chunk's reads a slice (at 1,000,000 plots, runs of 16,384 rows made ~7,600 slices).
SPILL_RUN_ROWS = 65_536


def _first_pass(job: StreamJob, spill: Spill, keygrid: KeyGrid, phases: Phases) -> _Scan:
    """Every batch checked and spilled; what the rasters hold sampled under the plots."""
    scan = _Scan()
    # Batches are read in this thread and checked on two others, a few ahead (GDAL, GEOS and numpy
    # release the GIL): the spill gets them in file order.
    bar = progress_bar(None, _("reading and checking plots"), _("plot")) if job.progress else NoBar()
    with phases("read and check plots"):
        work = partial(_scan_batch, cfg=job.cfg, every=job.products, keygrid=keygrid)
        run: list[pa.Table] = []  # batches spilled together, as one run
        for table, found in _ordered(job.stream.batches(), work, workers=2, ahead=3):
            run.append(table)
            if sum(t.num_rows for t in run) >= SPILL_RUN_ROWS:
                spill.append(run)
                run = []
            scan.add(found)
            bar.update(table.num_rows)
        if run:
            spill.append(run)
        spill.close()
    bar.close()
    log.info("%s: %d plots read and checked", job.stream.path, spill.rows)
    if scan.tiles:
        log.info("%d tile(s) of lazily indexed tile sets lie under the plots: opened and checked", len(scan.tiles))
    with phases("raster content"):  # what the rasters hold, sampled under plots spread over the file
        sample = np.concatenate(scan.sample) if scan.sample else np.zeros(0, dtype=object)
        for product in job.loss_products:
            check_content(product, sample)
    return scan


#: Plots of each batch kept to sample what the rasters hold (io.raster_content picks among them).
_SAMPLE_PER_BATCH = 16


def _scan_batch(
    batch: PlotBatch, *, cfg: RunConfig, every: Sequence[Product | AlertProduct | ClassMap], keygrid: KeyGrid
):
    """Pass 1 for one batch: the single-row checks and the location keys; returns its rows for
    the spill, and what the scan keeps of it."""
    products = [p for p in every if isinstance(p, Product)]
    frame = batch.frame
    rows = check_rows(frame, cfg.qc, coverage_bounds=products[0].bounds)
    n = len(frame)
    live = ~rows.err
    raw = frame.geometry.to_numpy()
    bounds = np.full((n, 4), np.nan)
    has_raw = ~shapely.is_missing(raw) & ~shapely.is_empty(raw)
    bounds[has_raw] = shapely.bounds(raw[has_raw])
    bounds[live] = shapely.bounds(rows.geometry[live])
    keys = keygrid.keys(bounds)
    big = live & ~keygrid.small(bounds)
    tiles = set()  # the tiles under these plots, opened and checked now
    for p in every:
        tiles.update(require_tiles(p, bounds[live]))
    ids = frame["plot_id"].to_numpy(dtype=object)
    source_rows = frame["source_row"].to_numpy()
    wkb, types = output_wkb(raw, batch.wkb)
    columns = {"plot_id": pa.array(ids, pa.string()), "source_row": pa.array(source_rows, pa.int64())}
    for name in batch.attributes.column_names:
        columns[name] = batch.attributes.column(name)
    columns.update(
        {
            GEOM: pa.array(wkb, pa.binary()),
            SCREENED: pa.array(_screened_wkb(rows, raw, batch.wkb), pa.binary()),
            AREA_HA: pa.array(rows.area_ha, pa.float64()),
            ISSUES: _issues_array(rows, n),
            BIG: pa.array(big),
            KEY: pa.array(keys, pa.int64()),
            **{name: pa.array(np.where(live, bounds[:, i], np.nan)) for i, name in enumerate(BOUNDS)},
        }
    )
    big_rows = (source_rows[big], ids[big], rows.geometry[big], rows.area_ha[big]) if big.any() else None
    sample = raw[np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_PER_BATCH)).astype("int64"))] if n else raw
    return pa.table(columns), (string_hashes(columns["plot_id"]), big_rows, types, tiles, sample)


def _screened_wkb(rows: RowChecks, raw: np.ndarray, wkb: np.ndarray | None) -> np.ndarray:
    """The WKB of what is screened: the file's own where the geometry is screened as drawn."""
    screened = rows.geometry
    if wkb is None:
        return shapely.to_wkb(screened)
    live = ~rows.err
    changed = np.fromiter((a is not b for a, b in zip(screened, raw)), dtype=bool, count=len(raw))
    out = np.where(live, wkb, np.array(None))
    at = np.flatnonzero(changed & live)
    out[at] = shapely.to_wkb(screened[at])
    return out


def _issues_array(rows: RowChecks, n: int) -> pa.ListArray:
    """Each row's findings (code, severity, message), in the order they were made."""
    order = np.argsort(rows.pos, kind="stable")
    counts = np.bincount(rows.pos, minlength=n)
    offsets = np.zeros(n + 1, dtype="int32")
    np.cumsum(counts, out=offsets[1:])
    found = pa.StructArray.from_arrays(
        [pa.array(a[order], pa.string()) for a in (rows.code, rows.severity, rows.message)],
        ["code", "severity", "message"],
    )
    return pa.ListArray.from_arrays(pa.array(offsets), found)


# --- Checks across rows that reach beyond a chunk --------------------------------------------------


def _duplicate_ids(spill: Spill, scan: _Scan, pending: PendingIssues) -> None:
    """``duplicate_id`` findings: ids hashed in pass 1; the rows of hashes met twice read back."""
    if not scan.hashes:
        return
    hashes = np.concatenate(scan.hashes)
    scan.hashes = []
    values, counts = np.unique(hashes, return_counts=True)
    dup = values[counts > 1]
    del hashes, values, counts
    if not len(dup):
        return
    ids, rows = [], []
    for t in spill.scan(["plot_id", "source_row"]):
        m = np.isin(string_hashes(t.column("plot_id")), dup)
        i = t.column("plot_id").to_numpy(zero_copy_only=False).astype(object)
        ids.append(i[m])
        rows.append(t.column("source_row").to_numpy()[m])
    ids_a, rows_a = np.concatenate(ids), np.concatenate(rows)
    order = np.argsort(rows_a, kind="stable")  # by row, as the whole file lists them
    ids_a, rows_a = ids_a[order], rows_a[order]
    pos, msg = duplicate_id_issues(ids_a, rows_a)
    pending.add(rows_a, CrossIssues(pos, np.full(len(pos), "duplicate_id", dtype=object), msg))


@dataclass
class _Plots:
    """Plots for the cross-plot checks: screened geometries, areas, ids, source rows, and the
    geometries' WKB as the spill holds it (not encoded again to find byte-identical copies)."""

    geoms: np.ndarray
    area: np.ndarray
    ids: np.ndarray
    rows: np.ndarray
    wkb: np.ndarray

    @classmethod
    def of(cls, table: pa.Table, keep: Callable[[pa.Table, np.ndarray], np.ndarray] | None = None) -> _Plots:
        wkb = table.column(SCREENED).to_numpy(zero_copy_only=False)
        g = shapely.from_wkb(wkb)
        sel = ~shapely.is_missing(g) if keep is None else keep(table, g)
        return cls(
            g[sel],
            table.column(AREA_HA).to_numpy()[sel],
            table.column("plot_id").to_numpy(zero_copy_only=False).astype(object)[sel],
            table.column("source_row").to_numpy()[sel],
            wkb[sel],
        )

    @classmethod
    def concat(cls, parts: list[_Plots]) -> _Plots:
        """The plots of ``parts``, by source row (the order the whole file lists them in)."""
        g, a, i, r, w = (
            np.concatenate([getattr(p, f) for p in parts]) for f in ("geoms", "area", "ids", "rows", "wkb")
        )
        order = np.argsort(r, kind="stable")
        return cls(g[order], a[order], i[order], r[order], w[order])

    def findings(self, min_share: float) -> CrossIssues:
        """The duplicated and overlapping geometries among these plots (positions into them)."""
        return CrossIssues.gather(
            cross_plot_checks(self.geoms, self.area, self.ids, self.rows, min_share, wkb=self.wkb)
        )


def _small(table: pa.Table, g: np.ndarray) -> np.ndarray:
    return ~shapely.is_missing(g) & ~table.column(BIG).to_numpy(zero_copy_only=False)


def _large_plots(spill: Spill, scan: _Scan, pending: PendingIssues, min_share: float) -> _Plots | None:
    """Plots larger than a raster block can meet plots of any chunk: every chunk checks its plots
    with them (they are returned), and their own findings come from the plots they can meet — the
    plots whose box meets theirs, gathered in a pass over the spill — checked with them here."""
    if not scan.big:
        return None
    rows, ids, geoms, areas = (np.concatenate([b[k] for b in scan.big]) for k in range(4))
    big = _Plots(geoms, areas, ids, rows, shapely.to_wkb(geoms))  # a few plots: encoded here
    scan.big = []
    log.info("%d plot(s) larger than a raster block: checked against every plot they meet", len(big.rows))
    tree = shapely.STRtree(shapely.box(*shapely.bounds(big.geoms).T))
    near = []
    for t in spill.scan(CROSS_COLUMNS):
        part = _Plots.of(t, _small)
        hit = (
            np.unique(tree.query(shapely.box(*shapely.bounds(part.geoms).T))[0])
            if len(part.rows)
            else np.zeros(0, "int64")
        )
        if len(hit):
            near.append(_Plots(part.geoms[hit], part.area[hit], part.ids[hit], part.rows[hit], part.wkb[hit]))
    every = _Plots.concat([big, *near])
    found = every.findings(min_share)
    mine = np.isin(every.rows[found.pos], big.rows)
    pending.add(every.rows, found.take(mine))
    return big


# --- Pass 2: chunk by chunk, screen and write -----------------------------------------------------


_Checked = tuple[pa.Table, Any, pd.DataFrame, np.ndarray]


def _chunk_checks(
    chunk: Chunk, *, spill: Spill, keygrid: KeyGrid, pending: PendingIssues, big: _Plots | None, min_share: float
) -> _Checked:
    """A chunk read back, and its quality control finished: the findings of single rows (from the
    spill), duplicated ids and the large plots' own findings (pending), and the duplicated or
    overlapping geometries of its plots. Those are found among its plots, the plots around it (a
    row of raster blocks before and after: every plot that can meet one of its plots, and every
    plot repeating those) and the large plots, in the order of the file: each of its plots gets
    what the whole file gives it. Returns the chunk's table, its ``QCResult``, its key frame and
    the WKB of what it screens."""
    table = spill.read(chunk.start, chunk.stop)
    ids = table.column("plot_id").to_numpy(zero_copy_only=False).astype(object)
    source_rows = table.column("source_row").to_numpy()
    frame = pd.DataFrame({"plot_id": ids, "source_row": source_rows})
    screened_wkb = table.column(SCREENED).to_numpy(zero_copy_only=False)
    rows = _row_checks(table, shapely.from_wkb(screened_wkb))
    small = ~rows.err & ~table.column(BIG).to_numpy(zero_copy_only=False)
    own = _Plots(rows.geometry[small], rows.area_ha[small], ids[small], source_rows[small], screened_wkb[small])
    reach = keygrid.width + 1  # two small plots that meet lie in neighbouring blocks
    boxes = np.column_stack([table.column(name).to_numpy() for name in BOUNDS])[small]
    meeting = partial(_meeting, Occupied(boxes))  # the few plots around that can meet one of its plots
    before = spill.read(Position(chunk.start.key - reach, 0), chunk.start, CROSS_COLUMNS, keep=meeting)
    after = spill.read(chunk.stop, Position(chunk.last_key + reach + 1, 0), CROSS_COLUMNS, keep=meeting)
    near = [_Plots.of(before, _small), _Plots.of(after, _small)]
    parts = [own, *near] + ([big] if big is not None else [])
    around = _Plots.concat(parts)
    cross = around.findings(min_share)
    cross = cross.take(np.isin(around.rows[cross.pos], own.rows))  # the findings on this chunk's plots
    order = np.argsort(source_rows, kind="stable")
    cross.pos = order[np.searchsorted(source_rows, around.rows[cross.pos], sorter=order)]
    extra = CrossIssues.concat([pending.take(source_rows), cross])
    return table, finish(frame, rows, extra), frame, screened_wkb


def _meeting(mine: Occupied, table: pa.Table) -> np.ndarray:
    """The rows of ``table`` whose box may meet the box of one of ``mine`` (touching counts; a few
    more, never fewer), or that have no bounds: the only plots around a chunk that can meet, or
    repeat, one of its plots. Found from the spilled bounds: the few rows near the chunk are the
    only geometries decoded."""
    box = np.column_stack([table.column(name).to_numpy() for name in BOUNDS])
    unknown = np.isnan(box).any(axis=1)
    hit = np.zeros(len(box), dtype=bool)
    hit[~unknown] = mine.meets(box[~unknown])
    return np.flatnonzero(hit | unknown)


def _row_checks(table: pa.Table, geoms: np.ndarray) -> RowChecks:
    """The findings of single rows kept in the spill, with the geometries screened and their areas."""
    found = table.column(ISSUES).combine_chunks()
    lengths = found.value_lengths().to_numpy(zero_copy_only=False)
    flat = found.flatten()
    return RowChecks(
        np.repeat(np.arange(table.num_rows), np.nan_to_num(lengths).astype("int64")),
        flat.field("code").to_numpy(zero_copy_only=False).astype(object),
        flat.field("severity").to_numpy(zero_copy_only=False).astype(object),
        flat.field("message").to_numpy(zero_copy_only=False).astype(object),
        shapely.is_missing(geoms),
        geoms,
        table.column(AREA_HA).to_numpy(),
    )


#: Chunks screened at once, each on a thread of its own: while one is in the steps that hold the
#: GIL (its patches, verdicts and reasons), the other's windows are decoded and covered. Measured
#: on 2 cores, runs interleaved: 100,000 plots 4.3 s against 4.8-5.5 s one at a time; 1,000,000
#: plots 40.0 and 42.4 s against 43.6 and 45.8 s (an earlier series had it the other way round).
SCREENED_AT_ONCE = 2


def _second_pass(
    job: StreamJob,
    chunks: list[Chunk],
    checks: Callable[[Chunk], _Checked],
    writer: ScreeningWriter,
    totals: StreamTotals,
    phases: Phases,
) -> None:
    """Each chunk screened, then made into rows and written, in order. :data:`SCREENED_AT_ONCE`
    chunks are screened at a time (their windows measured on the engine's threads), while the next
    one is read back and checked on one thread and the previous one is written on another."""
    cfg = job.cfg
    log.info(
        "screening %d plots in %d chunk(s) of at most %d (scheduler %s)",
        totals.plots_in,
        len(chunks),
        cfg.execution.chunk_plots,
        cfg.execution.scheduler,
    )
    prefix = key_prefix(job.loss_products, cfg.screening)
    how = Measuring(
        execution=cfg.execution,
        client=job.client,
        progress=False,
        large_progress=job.progress,
        edge_buffer_m=cfg.qc.edge_buffer_m,
    )
    earlier = Earlier(job.previous, job.previous_patches, job.reviews)
    column = cfg.plots.established_column
    established = None if column is None else (lambda table: table.column(column).to_pylist())
    bar = progress_bar(totals.plots_in, _("screening"), _("plot")) if job.progress else NoBar()
    write = partial(_write_chunk, writer=writer, attributes=job.stream.columns, totals=totals, bar=bar)
    with ThreadPoolExecutor(1, thread_name_prefix="cacao-screen-write") as post, phases("screen"):
        written: Future[None] | None = None

        def screen(item):
            table, checked, frame, wkb = item
            return table, screen_checked(
                frame,
                checked,
                [*job.products, *job.overlays],
                cfg.screening,
                how=how,
                earlier=earlier if established is None else replace(earlier, established=established(table)),
                prefix=prefix,
                wkb=wkb,
            )

        checked = _ordered(chunks, checks, workers=1, ahead=2)
        for table, part in _ordered(checked, screen, workers=SCREENED_AT_ONCE, ahead=SCREENED_AT_ONCE):
            if written is not None:
                written.result()  # one chunk being written at a time, in order
            written = post.submit(write, table, part)
        if written is not None:
            written.result()
    bar.close()


def _write_chunk(
    table: pa.Table, part: ScreenedPart, *, writer: ScreeningWriter, attributes: list[str], totals: StreamTotals, bar
) -> None:
    """A screened chunk's rows given to the writer, and added to the totals."""
    renamed = input_names(attributes, list(part.columns.columns))
    rows = _plots_table(table, attributes, renamed, part.columns)
    extra = part.extra_layers()
    writer.add(rows, part.loss_by_year, part.issues, extra)
    if not totals.layer_columns:
        totals.layer_columns["plots"] = [c for c in rows.column_names if c != "geometry"]
        totals.layer_columns["loss_by_year"] = list(part.loss_by_year.columns)
        totals.layer_columns["plot_issues"] = list(part.issues.columns)
        for name, frame in (extra or {}).items():
            totals.layer_columns[name] = list(frame.columns)
    totals.add(part)
    bar.update(table.num_rows)


def _plots_table(table: pa.Table, attributes: list[str], renamed: dict[str, str], columns: pd.DataFrame) -> pa.Table:
    """The ``plots`` rows of a chunk as written: ids, the input's attributes, the screening's
    columns, the geometry."""
    ours = arrow_table(columns)
    names = ["plot_id", "source_row", *attributes]
    arrays = [table.column(c) for c in names] + list(ours.columns) + [table.column(GEOM)]
    out_names = ["plot_id", "source_row", *(renamed.get(c, c) for c in attributes), *ours.column_names, "geometry"]
    return pa.Table.from_arrays(arrays, names=out_names)
