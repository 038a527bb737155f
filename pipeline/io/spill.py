"""The rows of a screening held on disk between its passes, in location order.

A registry too large for memory is read once, in file order, batch by batch; each batch's rows —
their attributes, geometries and what quality control found — are written here as one *run*
(an Arrow IPC record batch) sorted by a location key (the raster block of the plot). The screening
then takes the rows back in chunks of consecutive keys, so that each chunk covers one part of the
rasters: from each run the slice of the chunk's keys, copied out of a memory map of the file whose
pages are let go as soon as they are copied (memory holds the chunk, not the file).

Rows come back in (key, run, row) order: by key, then in file order. A chunk is a range of
:class:`Position` (key, run): all the rows of its keys, except that a key holding more rows than a
chunk may is split between runs.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

# A spilled row: the plot's id and source row, the input's attributes, then these private columns
# (named here and nowhere else).

#: The column holding each row's location key (the raster block under the plot), int64.
KEY = "_key"
#: The geometry as it is written to the output (WKB; NULL for a missing or empty one).
GEOM = "_geom"
#: The geometry that is screened (WKB: as drawn, repaired, a point's circle; NULL when not screened).
SCREENED = "_screened"
#: The plot's area in hectares, as quality control measured it.
AREA_HA = "_area_ha"
#: What the checks of single rows found: a list of (code, severity, message) structs.
ISSUES = "_issues"
#: True for a plot wider than a raster block (checked against every plot it meets).
BIG = "_big"
#: The bounds of the screened geometry (xmin, ymin, xmax, ymax; NaN when not screened), float64:
#: the plots around a chunk are found from them, without decoding every geometry.
BOUNDS = ["_xmin", "_ymin", "_xmax", "_ymax"]
#: The columns the checks across plots read back.
CROSS_COLUMNS = ["plot_id", "source_row", SCREENED, AREA_HA, BIG, *BOUNDS]


@dataclass(frozen=True, order=True)
class Position:
    """A place in (key, run) order: before every row of key ``key`` from run ``run`` on."""

    key: int
    run: int


@dataclass(frozen=True)
class Chunk:
    """Rows from ``start`` (inclusive) to ``stop`` (exclusive); ``rows`` of them; ``last_key``
    the largest key they hold."""

    start: Position
    stop: Position
    rows: int
    last_key: int


def _decoded(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary-encoded columns (a coded field domain, read by GDAL) decoded:
    an Arrow file holds one dictionary per column, whereas batches may each bring their own."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


def _copied(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A copy of ``batch`` (of its slice of each buffer): nothing of it points into a memory map."""
    return pa.RecordBatch.from_arrays([pa.concat_arrays([c]) for c in batch.columns], schema=batch.schema)


#: What an Arrow IPC file begins with (padded to 8 bytes).
_MAGIC = b"ARROW1\0\0"


class Spill:
    """An append-only file of runs, each sorted by :data:`KEY`, and the index of their keys."""

    def __init__(self, folder: str | Path, name: str = "rows") -> None:
        self.path = Path(folder) / f"{name}.arrow"
        self._sink: pa.NativeFile | None = None
        self._writer: ipc.RecordBatchFileWriter | None = None
        self.schema: pa.Schema | None = None
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # per run: unique keys, their start rows (+ end)
        self._spans: list[tuple[int, int]] = []  # per run: where its bytes lie in the file (start, end)
        self.rows = 0
        self._map: mmap.mmap | None = None  # the file, mapped once it is read
        self._batches: list[pa.RecordBatch] = []  # the runs, in place in the map (parsed once)
        self._lock = threading.Lock()

    # --- writing ---------------------------------------------------------------------------

    def append(self, tables: pa.Table | Sequence[pa.Table]) -> None:
        """Write one run: ``tables`` (one or several, in order; with a :data:`KEY` int64 column)
        sorted by key, stably. Each run costs every later read a little: fewer, larger runs read
        back faster."""
        if self._writer is None and self._spans:  # reopening would truncate the runs written
            raise RuntimeError(f"{self.path}: closed for reading; no run can be added")
        parts = [_decoded(t) for t in ([tables] if isinstance(tables, pa.Table) else tables)]
        if self.schema is None:
            self.schema = parts[0].schema
        table = pa.concat_tables([t if t.schema.equals(self.schema) else t.cast(self.schema) for t in parts])
        keys = table.column(KEY).to_numpy()
        order = np.argsort(keys, kind="stable")
        table = table.take(order)
        keys = keys[order]
        if self._writer is None:
            self._sink = pa.OSFile(str(self.path), "wb")
            self._writer = ipc.new_file(self._sink, self.schema)
        assert self._sink is not None
        start = self._sink.tell()
        batches = table.combine_chunks().to_batches(max_chunksize=len(table) or 1)
        self._writer.write_batch(batches[0] if batches else pa.RecordBatch.from_pylist([], schema=self.schema))
        self._spans.append((start, self._sink.tell()))
        ukeys, first = np.unique(keys, return_index=True)
        self.runs.append((ukeys, np.append(first, len(keys)).astype("int64")))
        self.rows += len(keys)

    def close(self) -> None:
        """Finish writing (the file can be read from then on)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def remove(self) -> None:
        self.close()
        self._batches = []
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # a view of it still held somewhere: unmapped when that goes
                pass
            self._map = None
        try:
            os.unlink(self.path)
        except OSError:
            pass

    # --- planning --------------------------------------------------------------------------

    def key_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Every key and its number of rows, by key."""
        if not self.runs:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
        keys = np.concatenate([k for k, _ in self.runs])
        counts = np.concatenate([np.diff(s) for _, s in self.runs])
        ukeys, inverse = np.unique(keys, return_inverse=True)
        return ukeys, np.bincount(inverse, weights=counts, minlength=len(ukeys)).astype("int64")

    def plan(self, max_rows: int) -> list[Chunk]:
        """Chunks of consecutive keys holding at most ``max_rows`` rows each — unless one key
        holds more, in which case that key is split between runs (a run's rows of a key stay
        together)."""
        keys, counts = self.key_counts()
        chunks: list[Chunk] = []
        if not len(keys):
            return chunks
        start, size, last = Position(int(keys[0]), 0), 0, int(keys[0])
        for k, c in zip(keys.tolist(), counts.tolist()):
            if size and size + c > max_rows:
                chunks.append(Chunk(start, Position(k, 0), size, last))
                start, size = Position(k, 0), 0
            if c > max_rows:  # one key's rows, between runs
                for r, n in enumerate(self._rows_of_key(k)):
                    if size and size + n > max_rows:
                        chunks.append(Chunk(start, Position(k, r), size, k))
                        start, size = Position(k, r), 0
                    size += n
            else:
                size += c
            last = k
        chunks.append(Chunk(start, Position(last + 1, 0), size, last))
        return chunks

    def _rows_of_key(self, key: int) -> list[int]:
        out = []
        for ukeys, starts in self.runs:
            i = np.searchsorted(ukeys, key)
            out.append(int(starts[i + 1] - starts[i]) if i < len(ukeys) and ukeys[i] == key else 0)
        return out

    # --- reading ---------------------------------------------------------------------------

    def _slice(self, run: int, start: Position, stop: Position) -> tuple[int, int]:
        ukeys, starts = self.runs[run]

        def at(p: Position) -> int:
            side: Literal["left", "right"] = "left" if run >= p.run else "right"
            return int(starts[np.searchsorted(ukeys, p.key, side=side)])

        lo, hi = at(start), at(stop)
        return lo, max(lo, hi)

    def read(
        self,
        start: Position,
        stop: Position,
        columns: list[str] | None = None,
        keep: Callable[[pa.Table], np.ndarray] | None = None,
        keep_columns: Sequence[str] = tuple(BOUNDS),
    ) -> pa.Table:
        """The rows from ``start`` to ``stop``, in (key, run, row) order (a copy); with ``keep``,
        only the rows it picks: it is given the ``keep_columns`` of the runs' slices one after the
        other (uncopied), and returns positions into them."""
        runs = self._reading()
        if self.schema is None:  # nothing was written
            return pa.table({})
        names = columns or self.schema.names
        wanted = names + ([KEY] if KEY not in names else [])
        slices = [(run, *self._slice(run, start, stop)) for run in range(len(runs))]
        slices = [(run, lo, hi - lo) for run, lo, hi in slices if hi > lo]
        if not slices:
            return self.schema.empty_table().select(names)
        picked: list[np.ndarray | None] = [None] * len(slices)
        if keep is not None:
            looked = pa.Table.from_batches([runs[run].slice(lo, n).select(list(keep_columns)) for run, lo, n in slices])
            kept = np.sort(np.asarray(keep(looked), dtype="int64"))
            del looked
            self._let_go()
            sizes = np.array([n for _, _, n in slices])
            cut = np.searchsorted(kept, np.cumsum(sizes))  # where each slice's kept rows end
            picked = [kept[a:b] - first for a, b, first in zip(np.r_[0, cut[:-1]], cut, np.cumsum(sizes) - sizes)]
        parts = []
        for (run, lo, n), rows in zip(slices, picked):
            part = runs[run].slice(lo, n).select(wanted)
            parts.append(_copied(part) if rows is None else part.take(pa.array(rows, pa.int64())))
            self._let_go(run)  # memory holds one run's pages at a time
        self._let_go()  # and none after: a folio a run's fault mapped may reach into its neighbours
        table = pa.Table.from_batches(parts, schema=parts[0].schema)
        order = np.argsort(table.column(KEY).to_numpy(), kind="stable")
        return table.select(names).take(pa.array(order, pa.int64()))

    def _reading(self) -> list[pa.RecordBatch]:
        """The runs, in place in a read-only map of the file (mapped, and the runs parsed, once)."""
        with self._lock:  # reads may come from several threads
            self.close()
            if self._map is None and self._spans:
                with open(self.path, "rb") as f:
                    self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                data = pa.py_buffer(self._map)
                self._batches = [self._run(data, start, end) for start, end in self._spans]
            return self._batches

    def _let_go(self, run: int | None = None) -> None:
        """The map's pages (of run ``run``, or all) taken out of this process's memory: they stay
        in the page cache, and a read maps them back. A fault maps a whole folio of the page cache
        (a freshly written file's are large): a chunk's reads, read from one map, held ~160 MB of
        it at 1,000,000 plots."""
        if self._map is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        start, end = (0, len(self._map)) if run is None else self._spans[run]
        start -= start % mmap.PAGESIZE
        self._map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def _run(self, data: pa.Buffer, start: int, end: int) -> pa.RecordBatch:
        """The run written from ``start`` to ``end``, read in place (no copy; the file's footer,
        which costs more to parse than a slice to copy, is not read)."""
        assert self.schema is not None
        if start == 0:  # the first run's bytes begin with the file's magic and its schema
            start = len(_MAGIC)
        for message in ipc.MessageReader.open_stream(data.slice(start, end - start)):
            if message.type == "record batch":
                return ipc.read_record_batch(message, self.schema)
        raise ValueError(f"{self.path}: the run at byte {start} holds no rows")

    def scan(self, columns: list[str], rows: int = 65_536) -> Iterator[pa.Table]:
        """Every row, run after run, ``rows`` at a time (copies), for a pass over the whole spill."""
        for batch in self._reading():
            for lo in range(0, batch.num_rows, rows):
                part = _copied(batch.slice(lo, rows).select(columns))
                self._let_go()  # all: a folio mapped here may reach into the next run's bytes
                yield pa.Table.from_batches([part])
