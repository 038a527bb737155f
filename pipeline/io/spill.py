"""The rows of a screening held on disk between its passes, in location order.

A registry too large for memory is read once, in file order, batch by batch; each batch's rows —
their attributes, geometries and what quality control found — are written here as one *run*
(an Arrow IPC record batch) sorted by a location key (the raster block of the plot). The screening
then takes the rows back in chunks of consecutive keys, so that each chunk covers one part of the
rasters: from each run the slice of the chunk's keys, copied out of a memory map that is let go
after each run (memory holds the chunk, not the file).

Rows come back in (key, run, row) order: by key, then in file order. A chunk is a range of
:class:`Position` (key, run): all the rows of its keys, except that a key holding more rows than a
chunk may is split between runs.
"""

from __future__ import annotations

import os
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

    # --- writing ---------------------------------------------------------------------------

    def append(self, tables: pa.Table | Sequence[pa.Table]) -> None:
        """Write one run: ``tables`` (one or several, in order; with a :data:`KEY` int64 column)
        sorted by key, stably. Each run costs every later read a little: fewer, larger runs read
        back faster."""
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
    ) -> pa.Table:
        """The rows from ``start`` to ``stop``, in (key, run, row) order (a copy); with ``keep``,
        only the rows it picks (positions into the runs' slices one after the other, given uncopied).

        The runs' slices are taken in place, from one memory map held for this read alone, and
        copied once, in order; the map is then let go (memory holds the rows asked for, not the
        pages the kernel read around them)."""
        self.close()
        if self.schema is None:  # nothing was written
            return pa.table({})
        schema = self.schema if columns is None else pa.schema([self.schema.field(c) for c in columns])
        wanted = None if columns is None else columns + ([KEY] if KEY not in columns else [])
        parts = []
        with pa.memory_map(str(self.path), "r") as source:
            for run in range(len(self.runs)):
                lo, hi = self._slice(run, start, stop)
                if hi > lo:
                    batch = self._run(source, run).slice(lo, hi - lo)
                    parts.append(batch if wanted is None else batch.select(wanted))
            if not parts:
                return schema.empty_table()
            table = pa.Table.from_batches(parts)
            if keep is not None:
                table = table.take(pa.array(keep(table), pa.int64()))
            order = np.argsort(table.column(KEY).to_numpy(), kind="stable")
            return (table if columns is None else table.select(columns)).take(order)  # take copies

    def _copy(self, run: int, lo: int, hi: int, columns: list[str] | None) -> pa.RecordBatch:
        """Rows ``lo`` to ``hi`` of run ``run``, copied out of a memory map opened for this slice alone."""
        with pa.memory_map(str(self.path), "r") as source:
            batch = self._run(source, run).slice(lo, hi - lo)
            if columns is not None:
                batch = batch.select(columns)
            return batch.take(pa.array(np.arange(hi - lo), pa.int64()))  # take copies

    def _run(self, source: pa.MemoryMappedFile, run: int) -> pa.RecordBatch:
        """Run ``run``, read in place from where it was written (no copy; the file's footer, which
        costs more to parse than a slice to copy, is not read)."""
        assert self.schema is not None
        start, end = self._spans[run]
        source.seek(start)
        data = source.read_buffer(end - start)
        if start == 0:  # the first run's bytes begin with the file's magic and its schema
            data = data.slice(len(_MAGIC))
        for message in ipc.MessageReader.open_stream(data):
            if message.type == "record batch":
                return ipc.read_record_batch(message, self.schema)
        raise ValueError(f"{self.path}: run {run} holds no rows")

    def scan(self, columns: list[str], rows: int = 65_536) -> Iterator[pa.Table]:
        """Every row, run after run, ``rows`` at a time (copies), for a pass over the whole spill."""
        self.close()
        for run, (_, starts) in enumerate(self.runs):
            n = int(starts[-1])
            for lo in range(0, n, rows):
                yield pa.Table.from_batches([self._copy(run, lo, min(n, lo + rows), columns)])
