"""Class maps of the cut-off day: forest maps (``kind: forest_cover``) and land-use maps (``kind:
land_use``), each one layer on its own grid (through :mod:`.layers`).

A forest map says where forest stood on the cut-off day — the EU's GFC2020 (1 = forest), a
Bosque / No bosque map of Peru's Geobosques (its forest class) — and a land-use map where land was
under agricultural use or tree crops then (a plantation class, a cocoa map). Which pixel values
mean the class is the dataset's ``forest_values`` or ``agricultural_values``
(:class:`~pipeline.engine.cutoff.ClassSpec`); the engine measures each map on its own grid, and
beside the loss products on the finest grid (:mod:`pipeline.engine.cutoff`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..config import ClassMapDatasetConfig
from ..engine.coverage import Grid
from ..engine.cutoff import ClassSpec, ForestCoverSpec, LandUseSpec
from ..errors import RasterError
from ..i18n import tr
from .layers import Layer, layer_files, open_layer, require_tiles

#: The layer key of each kind of class map.
FOREST_KEY, LAND_USE_KEY = "forest", "land_use"


@dataclass(frozen=True)
class ClassMap:
    """A class map: its layer and how to read its values (picklable)."""

    name: str
    layer: Layer
    spec: ClassSpec
    date: dt.date | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def grid(self) -> Grid:
        return self.layer.grid

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.layer.bounds

    @property
    def layers(self) -> dict[str, Layer]:
        return {self.spec.key: self.layer}

    def require(self, bounds: Iterable[tuple[float, float, float, float]]) -> list[str]:
        """Open and check the lazily indexed tiles under the lon/lat boxes (see :func:`require_tiles`)."""
        return require_tiles(self, bounds)

    def fingerprint(self) -> tuple:
        """Every setting and each file's name, size and modification time (URLs by their address)."""
        return (self.name, type(self.spec).__name__, self.spec, self.date, tuple(layer_files(self.layers)))

    def describe(self) -> str:
        what = "forest" if isinstance(self.spec, ForestCoverSpec) else "agricultural use"
        values = ", ".join(str(v) for v in self.spec.values)
        when = f" on {self.date.isoformat()}" if self.date else ""
        return f"{self.name} ({what}{when}: values {values}): {len(self.layer.tiles)} tile(s)"


def open_class_map(
    name: str,
    layer_spec,
    values: Sequence[int],
    *,
    land_use: bool = False,
    date: dt.date | None = None,
    nodata: int | None = None,
    check_pixels: bool = True,
) -> ClassMap:
    """Open and check a forest map (or, ``land_use``, a land-use map): its layer on its own grid,
    the values that mean the class, the day it describes."""
    key = LAND_USE_KEY if land_use else FOREST_KEY
    role = "land-use" if land_use else "forest-cover"
    if not values:
        raise RasterError(
            tr("product {name!r}: no pixel value is said to mean agricultural use", name=name)
            if land_use
            else tr("product {name!r}: no pixel value is said to mean forest", name=name)
        )
    layer = open_layer(layer_spec, role, check_pixels=check_pixels)
    missing = nodata if nodata is not None else (int(layer.nodata) if layer.nodata is not None else None)
    notes: tuple[str, ...] = ()
    if nodata is None and missing == 0 and 0 not in values:
        # a map that looked and found no forest (or no farmland) says so: 0 is data, as in GFW's alerts
        missing = None
        notes = (f"the {role} layer declares 0 as no data: read as a value (not of the class); set nodata: to change",)
    if missing is not None and missing in values:
        raise RasterError(
            tr(
                "product {name!r}: value {value} is the {role} layer's no-data value and a class value",
                name=name,
                value=missing,
                role=role,
            )
        )
    cls = LandUseSpec if land_use else ForestCoverSpec
    return ClassMap(name, layer, cls(key, tuple(int(v) for v in values), missing), date, notes)


def open_class_map_config(name: str, dataset: ClassMapDatasetConfig, *, check_pixels: bool = True) -> ClassMap:
    """:func:`open_class_map` for a ``datasets`` entry of kind ``forest_cover`` or ``land_use``."""
    land_use = dataset.kind == "land_use"
    return open_class_map(
        name,
        dataset.layer,
        dataset.agricultural_values if land_use else dataset.forest_values,
        land_use=land_use,
        date=dataset.date,
        nodata=dataset.nodata,
        check_pixels=check_pixels,
    )
