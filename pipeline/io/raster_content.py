"""What a product's rasters hold: a cheap look at their values before any plot is screened.

:func:`pipeline.io.rasters.open_product` checks what the headers say (CRS, grid, data type). A
header cannot say that a 0/1 forest mask was given as the tree cover (every plot would come out
"no forest in 2000", so ``deforestation_free``), that the tree cover holds values above 100, or
that the loss-year and tree-cover layers were swapped. :func:`check_content` reads a sample of the
raster blocks under the plots — a block each under up to :data:`MAX_WINDOWS` plots spread over the
file, or spread over each tile when no plots are given; never a whole tile — and refuses
(:class:`~pipeline.errors.RasterError`) what cannot be the layer it is given as, naming the file,
what it holds, and what to do.

The checks:

* tree cover whose sampled maximum is 1 or less: a mask, not a percentage;
* tree cover above 100: not a percentage;
* loss-year values outside the product's years (or 0 and its nodata) in more than
  :data:`MAX_OUT_OF_RANGE_SHARE` of the sampled valid pixels, with the likely mix-up named: swapped
  layers, years stored as calendar years or as offsets, a release later than ``last_year``;
* a forest mask holding values other than 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ..errors import RasterError
from ..i18n import _, tr
from .rasters import Layer, Product, _dataset

#: Windows read per layer: a block each (a strip of a striped file, a tile of a tiled one).
MAX_WINDOWS = 48
#: A window is at most this many rows and columns (blocks of a strip file can be a whole row wide).
MAX_WINDOW_ROWS, MAX_WINDOW_COLS = 256, 4096
#: Fewer valid sampled pixels than this and nothing is judged (a tiny raster, plots over no data).
MIN_PIXELS = 100
#: Loss-year values outside the product's range are refused beyond this share of the valid pixels.
MAX_OUT_OF_RANGE_SHARE = 0.001


@dataclass
class _Sample:
    """The sampled values of one layer, without no-data and uncovered pixels, and the file of each window."""

    values: np.ndarray  # every window's values, concatenated
    files: list[str]  # the file of each window
    parts: list[np.ndarray]  # each window's values

    def file_with(self, mask_of) -> str:
        """The first sampled file holding a value for which ``mask_of(values)`` is true."""
        for path, vals in zip(self.files, self.parts):
            if mask_of(vals).any():
                return path
        return self.files[0] if self.files else "?"


def sample_windows(layer: Layer, geoms: np.ndarray | None = None, max_windows: int = MAX_WINDOWS) -> list[tuple]:
    """Up to ``max_windows`` windows (row0, col0, height, width; on the layer's grid) to sample: the
    block under each of plots spread over ``geoms`` (the plots to screen), or spread over every
    tile when there are none."""
    g = layer.grid
    points: list[tuple[float, float]] = []
    if geoms is not None and len(geoms):
        geoms = np.asarray(geoms, dtype=object)
        b = shapely.bounds(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
        b = b[np.isfinite(b).all(axis=1)]
        if len(b):
            # plots spread over the file; over few plots, a grid of points over each (a big plot spans many blocks)
            pick = np.unique(np.linspace(0, len(b) - 1, min(len(b), 4 * max_windows)).astype("int64"))
            k = max(1, int(np.sqrt(4 * max_windows / len(pick))))
            f = (np.arange(k) + 0.5) / k
            for i in pick:
                x0, y0, x1, y1 = b[i]
                points += [(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fy in f for fx in f]
    pixels = [((g.y0 - y) / g.dy, (x - g.x0) / g.dx) for x, y in points]
    if not pixels:  # no plots: spread over each tile
        per_tile = max(1, int(np.sqrt(max_windows / len(layer.tiles))))
        for t in layer.tiles:
            for fr in (np.arange(per_tile) + 0.5) / per_tile:
                for fc in (np.arange(per_tile) + 0.5) / per_tile:
                    pixels.append((t.row0 + fr * t.height, t.col0 + fc * t.width))
    windows: list[tuple] = []
    seen = set()
    for r, c in pixels:
        if not (np.isfinite(r) and np.isfinite(c) and abs(r) < 2**53 and abs(c) < 2**53):
            continue  # off any grid (out-of-range coordinates: quality control refuses those plots)
        r, c = int(np.floor(r)), int(np.floor(c))
        tile = next(
            (t for t in layer.tiles if t.row0 <= r < t.row0 + t.height and t.col0 <= c < t.col0 + t.width), None
        )
        if tile is None:
            continue
        bh, bw = _dataset(tile.path).block_shapes[0]
        lr, lc = r - tile.row0, c - tile.col0
        r0, c0 = (lr // bh) * bh, (lc // bw) * bw
        r1, c1 = min(r0 + bh, tile.height), min(c0 + bw, tile.width)
        # at most MAX_WINDOW_* around the point, inside the block
        r0, r1 = max(r0, lr - MAX_WINDOW_ROWS // 2), min(r1, max(r0, lr - MAX_WINDOW_ROWS // 2) + MAX_WINDOW_ROWS)
        c0, c1 = max(c0, lc - MAX_WINDOW_COLS // 2), min(c1, max(c0, lc - MAX_WINDOW_COLS // 2) + MAX_WINDOW_COLS)
        key = (tile.path, r0, c0)
        if key in seen:
            continue
        seen.add(key)
        windows.append((tile.row0 + r0, tile.col0 + c0, r1 - r0, c1 - c0))
        if len(windows) >= max_windows:
            break
    return windows


def _sample(layer: Layer, windows: list[tuple], nodata) -> _Sample:
    parts, files = [], []
    for row0, col0, h, w in windows:
        data, present = layer.read_raw(row0, col0, h, w)
        keep = np.ones(data.shape, dtype=bool) if present is None else present
        if nodata is not None:
            keep &= data != nodata
        tiles = layer.tiles_in(row0, col0, h, w)
        parts.append(data[keep].astype("int64"))
        files.append(tiles[0].path if tiles else layer.source)
    values = np.concatenate(parts) if parts else np.zeros(0, dtype="int64")
    return _Sample(values, files, parts)


def check_content(product: Product, geoms: np.ndarray | None = None) -> None:
    """Refuse a product whose sampled values cannot be what its layers are given as (see the module
    docstring); ``geoms`` are the plots to screen, whose blocks are sampled."""
    windows = sample_windows(product.loss, geoms)
    if not windows:
        return  # no plot over the rasters: nothing they hold matters

    def own(layer: Layer) -> list[tuple]:  # a layer on its own grid is sampled in its own blocks
        return windows if layer.grid == product.loss.grid else sample_windows(layer, geoms)

    loss = _sample(product.loss, windows, product.loss_nodata)
    cover = (
        _sample(product.tree_cover, own(product.tree_cover), product.cover_nodata)
        if product.tree_cover is not None
        else None
    )
    _check_loss(product, loss, cover)
    if cover is not None:
        _check_cover(product, cover)
    if product.forest_mask is not None:
        fmask = _sample(product.forest_mask, own(product.forest_mask), product.forest_mask.nodata)
        _check_forest_mask(product, fmask)


def _check_loss(product: Product, loss: _Sample, cover: _Sample | None) -> None:
    v = loss.values
    if len(v) < MIN_PIXELS:
        return
    offset = product.encoding == "offset"
    lo, hi = (
        (product.first_year - product.year_offset, product.last_year - product.year_offset)
        if offset
        else (
            product.first_year,
            product.last_year,
        )
    )

    def outside(x):
        return (x != 0) & ((x < lo) | (x > hi))

    bad = outside(v)
    share = bad.mean()
    if share <= MAX_OUT_OF_RANGE_SHARE:
        return
    wrong = v[bad]
    path = loss.file_with(outside)
    params = dict(
        path=path,
        pct=100 * share,
        low=wrong.min(),
        high=wrong.max(),
        product=product.name,
        lo=lo,
        hi=hi,
        first=product.first_year,
        last=product.last_year,
        encoding=product.encoding,
    )
    what = (
        tr(
            "{path}: {pct:.1f} % of the sampled loss-year pixels under the plots hold values outside the "
            "product's years ({low} to {high}; {product} expects 0 = no loss or {lo}-{hi} for {first}-{last})",
            **params,
        )
        if product.kind == "hansen"
        else tr(
            "{path}: {pct:.1f} % of the sampled loss-year pixels under the plots hold values outside the "
            "product's years ({low} to {high}; {product} expects 0 = no loss or {lo}-{hi} for {first}-{last}, "
            "encoding '{encoding}')",
            **params,
        )
    )
    cover_max = int(cover.values.max()) if cover is not None and len(cover.values) else None
    raise RasterError(f"{what}: {_why_out_of_range(product, wrong, offset, hi, cover_max, share)}")


def _why_out_of_range(product: Product, wrong: np.ndarray, offset: bool, hi: int, cover_max, share: float) -> str:
    """What the loss-year values outside the product's years suggest, in words (the language in use)."""
    if offset and wrong.max() <= 100 and cover_max is not None and cover_max <= hi and share > 0.05:
        return tr(
            "this looks like tree cover (percentages), and the tree-cover layer holds nothing above {cover_max}, "
            "like loss years: the loss-year and tree-cover layers look swapped. Give lossyear as --loss-year "
            "(loss_year:) and treecover2000 as --tree-cover (tree_cover:)",
            cover_max=cover_max,
        )
    if offset and (wrong >= 1900).all() and (wrong <= 2100).all():
        return tr(
            "these are calendar years, not offsets from year_offset. Declare the product with "
            "kind: loss_year and encoding: year (docs/data.md)"
        )
    if not offset and (wrong < 100).all():
        return tr(
            "these look like offsets from a year (k = {offset} + k), not calendar years. "
            "Use encoding: offset (with year_offset), or kind: hansen for Hansen tiles",
            offset=product.year_offset,
        )
    if offset and wrong.min() > hi and wrong.max() < 100:
        return tr(
            "loss up to {year}, after the last year {last}: a later release? Set --last-year (last_year:) to "
            "{year}, or use the release the configuration says",
            year=product.year_offset + int(wrong.max()),
            last=product.last_year,
        )
    if not offset and wrong.min() > 1900 and wrong.max() < 2100:
        return tr(
            "years outside {first}-{last}. Set first_year and last_year to the years the product covers",
            first=product.first_year,
            last=product.last_year,
        )
    if product.loss_nodata is None:
        return _(
            "check that this is the loss-year layer, and its nodata value (none declared; "
            "set nodata: in the dataset when the file declares none)"
        )
    return tr(
        "check that this is the loss-year layer, and its nodata value ({nodata}; "
        "set nodata: in the dataset when the file declares none)",
        nodata=product.loss_nodata,
    )


def _check_cover(product: Product, cover: _Sample) -> None:
    v = cover.values
    if len(v) < MIN_PIXELS:
        return
    top = int(v.max())
    if top <= 1:
        path = cover.file_with(lambda x: x >= 0)
        held = _("only 0 and 1") if top == 1 else _("only 0")
        raise RasterError(
            tr(
                "{path}: the tree-cover layer holds {held} in the {n:,} pixels sampled under the plots: a forest "
                "mask, not tree cover (a percentage, 0-100), and as tree cover every plot would be 'no forest in "
                "2000', so deforestation_free. Give the Hansen treecover2000 as --tree-cover; for a 0/1 forest mask, "
                "declare a dataset of kind: loss_year with forest_mask: (docs/data.md)",
                path=path,
                held=held,
                n=len(v),
            )
        )
    if top > 100:
        path = cover.file_with(lambda x: x > 100)
        share = (v > 100).mean()
        raise RasterError(
            tr(
                "{path}: the tree-cover layer holds values up to {top} ({pct:.1f} % of the sampled pixels "
                "above 100): tree cover is a percentage, 0-100. If {top} marks no data, declare it as the file's "
                "nodata (gdal_edit.py -a_nodata {top} FILE).",
                path=path,
                top=top,
                pct=100 * share,
            )
            if share < 0.5 and top in (255, 65535, 32767, 127)
            else tr(
                "{path}: the tree-cover layer holds values up to {top} ({pct:.1f} % of the sampled pixels "
                "above 100): tree cover is a percentage, 0-100. Check that this is Hansen's treecover2000 "
                "(canopy %, 0-100), not another layer.",
                path=path,
                top=top,
                pct=100 * share,
            )
        )


def _check_forest_mask(product: Product, fmask: _Sample) -> None:
    v = fmask.values
    if len(v) < MIN_PIXELS:
        return
    bad = (v != 0) & (v != 1)
    if bad.mean() > MAX_OUT_OF_RANGE_SHARE:
        path = fmask.file_with(lambda x: (x != 0) & (x != 1))
        raise RasterError(
            tr(
                "{path}: the forest mask holds values up to {top} ({pct:.1f} % of the sampled "
                "pixels neither 0 nor 1): a forest mask is 1 = forest, 0 = not. Tree cover (%) goes in tree_cover "
                "(with screening.canopy_threshold); or declare the mask's nodata",
                path=path,
                top=int(v.max()),
                pct=100 * bad.mean(),
            )
        )
