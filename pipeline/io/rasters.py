"""Loss products: the layers of one forest-loss product and how to read their values.

A :class:`Product` groups the layers (:mod:`pipeline.io.layers`) of one forest-loss product:

* ``kind="hansen"`` — Hansen/UMD Global Forest Change: ``lossyear`` (0 = no loss, k = loss in
  2000+k), ``treecover2000`` (canopy %, forest = cover above a threshold) and, optionally,
  ``datamask`` (0 = no data, 1 = land, 2 = water: water is never forest);
* ``kind="loss_year"`` — any loss-year raster: ``encoding="offset"`` (value k = ``year_offset`` + k,
  as Hansen) or ``encoding="year"`` (the value is the year, as Peru's Geobosques and JRC TMF
  deforestation-year layers store it), with its own nodata; optionally a ``forest_mask`` raster
  (1 = forest at the baseline). Without a forest layer, every pixel the product flags counts.

Each layer keeps its own grid. A layer on another grid than the loss year's (another resolution,
or an origin off by a fraction of a pixel) is read onto the finest grid of the product, a coarser
layer's value taken at each fine cell's centre (:mod:`pipeline.engine.grids`); layers on one grid
are read as they are.

:func:`open_product` checks everything it can up front — every file exists and opens, CRSs are
geographic, tiles align on their layer's grid — and raises :class:`RasterError` naming the file
and the problem.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DatasetConfig
from ..engine.coverage import Grid
from ..engine.grids import finest, offset
from ..engine.pixels import ProductSpec
from ..errors import RasterError
from ..i18n import tr
from .layers import (  # noqa: F401 - re-exported: what callers know as the rasters' API
    _VERIFIED,
    Layer,
    Tile,
    _dataset,
    _open_header,
    close_datasets,
    layer_files,
    open_layer,
    rebase,
    require_tiles,
    verify_tile,
)
from .raster_files import INDEX_NAME, _check_pixels, _write_index, expand_sources, is_url  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

_HANSEN_VERSION = re.compile(r"GFC-(\d{4})-v\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Product:
    """A forest-loss product: its layers and how to read their values (picklable)."""

    name: str
    kind: str
    loss: Layer
    tree_cover: Layer | None = None
    datamask: Layer | None = None
    forest_mask: Layer | None = None
    encoding: str = "offset"
    year_offset: int = 2000
    first_year: int = 2001
    last_year: int = 2024
    loss_nodata: int | None = None
    cover_nodata: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def grid(self) -> Grid:
        """The grid its figures are computed on: the finest of its layers' (the loss year's when
        they share one)."""
        return finest([self.loss.grid, *(layer.grid for layer in self.layers.values())])

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.loss.bounds

    @property
    def layers(self) -> dict[str, Layer]:
        out = {"loss": self.loss}
        for key in ("tree_cover", "datamask", "forest_mask"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @property
    def spec(self) -> ProductSpec:
        """How the engine interprets the pixel values."""
        return ProductSpec(
            first_year=self.first_year,
            last_year=self.last_year,
            year_offset=self.year_offset,
            loss_nodata=self.loss_nodata,
            cover_nodata=self.cover_nodata,
            encoding=self.encoding,
        )

    def require(self, bounds: Iterable[tuple[float, float, float, float]]) -> list[str]:
        """Open and check, now, every tile of every layer under the lon/lat boxes (minx, miny,
        maxx, maxy) — the plots' — so that a bad tile fails the job before the work, not in the
        middle; tiles elsewhere are never opened. Returns the tiles checked (lazily indexed ones)."""
        return require_tiles(self, bounds)

    def fingerprint(self) -> tuple:
        """What identifies the product's data and reading: every setting, and each file's name and
        identity (size, times, inode: a re-downloaded or rewritten tile counts as new; URLs by their address)."""
        files = layer_files(self.layers)
        return (
            self.name,
            self.kind,
            self.encoding,
            self.year_offset,
            self.first_year,
            self.last_year,
            self.loss_nodata,
            self.cover_nodata,
            tuple(files),
        )

    def describe(self) -> str:
        parts = [f"{self.name} ({self.kind}, loss {self.first_year}-{self.last_year}"]
        if self.kind == "loss_year":
            parts.append(f", encoding {self.encoding}")
        parts.append(f"): {len(self.loss.tiles)} loss-year tile(s)")
        return "".join(parts)


def hansen_version_year(files: Sequence[str]) -> int | None:
    """The last loss year a Hansen release covers, from its file names (GFC-2024-v1.12 -> 2024)."""
    years = {int(m.group(1)) for f in files if (m := _HANSEN_VERSION.search(Path(str(f)).name))}
    if len(years) > 1:
        raise RasterError(
            tr(
                "loss-year tiles from several Hansen releases ({releases}): use the tiles of one release",
                releases=", ".join(map(str, sorted(years))),
            )
        )
    return years.pop() if years else None


def open_companion(spec, role: str, base: Layer, base_role: str, *, check_pixels: bool = True) -> Layer:
    """Open the ``role`` layer of a product (tree cover, datamask, a mask...): rebased onto its
    ``base`` layer's grid when it lies on it (the same pixel size, origins whole pixels apart),
    else kept on its own grid (read onto the product's finest grid by the engine)."""
    layer = open_layer(spec, role, check_pixels=check_pixels)
    if offset(layer.grid, base.grid) is None:
        log.info(
            "%s: the %s layer is on its own grid (%.10g x %.10g degrees) beside the %s layer's (%.10g x %.10g)",
            layer.source,
            role,
            layer.grid.dx,
            layer.grid.dy,
            base_role,
            base.grid.dx,
            base.grid.dy,
        )
        return layer
    return rebase(layer, base)


def open_product(name: str, dataset: DatasetConfig | None = None, *, check_pixels: bool = True, **fields) -> Product:
    """Open and check a product's layers; see the module docstring for ``kind`` and ``encoding``.

    ``dataset`` is the product's :class:`~pipeline.config.DatasetConfig`; or give its fields as
    keywords (``kind=``, ``loss_year=``, ``tree_cover=``...; layers may be paths).
    """
    if dataset is None:
        for key in ("loss_year", "tree_cover", "datamask", "forest_mask"):
            fields[key] = _spec_arg(fields.get(key))
        dataset = DatasetConfig(**fields)
    kind, encoding, year_offset = dataset.kind, dataset.encoding, dataset.year_offset
    first_year, last_year = dataset.first_year, dataset.last_year
    loss = open_layer(dataset.loss_year, "loss-year", check_pixels=check_pixels)
    notes = []
    if last_year is None:
        last_year = hansen_version_year([t.path for t in loss.tiles])
        if last_year is not None:
            notes.append(f"last loss year {last_year}, read from the Hansen file names")
        else:
            last_year = 2024
    if first_year is None:
        first_year = year_offset + 1 if encoding == "offset" else 2001
    if first_year > last_year:
        raise RasterError(
            tr(
                "product {name!r}: first year {first} is after last year {last}",
                name=name,
                first=first_year,
                last=last_year,
            )
        )
    layers: dict[str, Layer | None] = {}
    for key, role in (("tree_cover", "tree-cover"), ("datamask", "datamask"), ("forest_mask", "forest-mask")):
        spec = getattr(dataset, key)
        if spec is None:
            layers[key] = None
            continue
        layers[key] = open_companion(spec, role, loss, "loss-year", check_pixels=check_pixels)
    nodata = dataset.nodata
    loss_nodata = (
        nodata
        if nodata is not None
        else (int(loss.nodata) if loss.nodata is not None else (255 if kind == "hansen" else None))
    )
    cover = layers["tree_cover"]
    return Product(
        name=name,
        kind=kind,
        loss=loss,
        tree_cover=cover,
        datamask=layers["datamask"],
        forest_mask=layers["forest_mask"],
        encoding=encoding,
        year_offset=year_offset,
        first_year=first_year,
        last_year=last_year,
        loss_nodata=loss_nodata,
        cover_nodata=int(cover.nodata) if cover is not None and cover.nodata is not None else None,
        notes=tuple(notes),
    )


def open_hansen(loss_year, tree_cover, *, last_year: int | None = 2024, datamask=None, name: str = "hansen") -> Product:
    """Open and check a Hansen ``lossyear`` + ``treecover2000`` (+ ``datamask``) product.

    Each argument may be a file, a folder of tiles, a glob or a list of files/URLs.
    """
    return open_product(
        name, kind="hansen", loss_year=loss_year, tree_cover=tree_cover, datamask=datamask, last_year=last_year
    )


def _spec_arg(spec):
    """A layer specification as the config model takes it: text, or a list of text."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)):
        return [str(s) for s in spec]
    return str(spec)
