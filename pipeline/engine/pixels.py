"""Pixel classes: what each pixel of a window is, from the values of a product's layers.

Pure functions on arrays. A window of a layer arrives as an integer array, or as the file's own
array with a mask of where tiles cover it; pixels no tile covers are :data:`NO_TILE`.
:func:`classify_pixels` says, for each pixel, whether it is missing, invalid, valid, forest at the
baseline (by the screening's :class:`~pipeline.config.ForestDefinition`), and its loss-year index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from ..config import ForestDefinition
from .coverage import Grid
from .geodesy import M2_PER_HA, pixel_row_areas

#: Value of pixels that no tile covers (outside every tile, or a tile that is missing).
NO_TILE = -1

#: A layer's window as read: an int array, or a (raw array, where tiles cover it or None) pair.
LayerWindow: TypeAlias = "np.ndarray | tuple[np.ndarray, np.ndarray | None]"


@dataclass(frozen=True)
class ProductSpec:
    """How to interpret a product's pixel values: what the files say, not a user parameter
    (built by :func:`pipeline.io.rasters.open_product` from the dataset config and the files)."""

    first_year: int = 2001
    last_year: int = 2024
    year_offset: int = 2000
    loss_nodata: int | None = 255
    cover_nodata: int | None = None
    encoding: str = "offset"  # "offset": value k is year_offset + k; "year": the value is the year

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.first_year, self.last_year + 1)


def patch_margin(grid: Grid, min_patch_ha: float, max_abs_lat: float) -> int:
    """Pixels to read beyond a window so that forest patches smaller than ``min_patch_ha`` are
    seen whole: a patch reaching that far has more pixels than such a patch can have."""
    if min_patch_ha <= 0:
        return 0
    lat = min(abs(max_abs_lat) + grid.dy, 90.0)
    smallest = pixel_row_areas(lat, grid.dy, grid.dx, 0, 1)[0]
    return int(np.ceil(min_patch_ha * M2_PER_HA / max(smallest, 1e-9)))


def classify_pixels(
    layers: dict[str, np.ndarray], spec: ProductSpec, definition: ForestDefinition, row_areas: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per-pixel classes of a window from its layers (int32 arrays, :data:`NO_TILE` = no tile).

    ``layers`` holds ``loss`` and optionally ``tree_cover``, ``datamask``, ``forest_mask``;
    ``row_areas`` the pixel area of each window row (for the minimum patch area). Returns boolean
    arrays ``missing``, ``invalid``, ``valid``, ``forest`` and the int array ``year_index``
    (-1 where no loss in the product's years).
    """
    v = layers["loss"]
    missing = v == NO_TILE
    for arr in layers.values():
        missing |= arr == NO_TILE
    nodata = np.zeros_like(missing)
    if spec.loss_nodata is not None:
        nodata |= v == spec.loss_nodata
    year = v + spec.year_offset if spec.encoding == "offset" else v
    in_years = (year >= spec.first_year) & (year <= spec.last_year)
    ok_value = (v == 0) | in_years
    cover = layers.get("tree_cover")
    if cover is not None:
        if spec.cover_nodata is not None:
            nodata |= cover == spec.cover_nodata
        ok_value &= (cover >= 0) & (cover <= 100)
    datamask = layers.get("datamask")
    if datamask is not None:
        nodata |= datamask == 0
    fmask = layers.get("forest_mask")
    if fmask is not None:
        ok_value &= (fmask == 0) | (fmask == 1)
    nodata &= ~missing
    invalid = ~missing & ~nodata & ~ok_value
    valid = ~missing & ~nodata & ok_value

    forest = valid.copy()
    if cover is not None:
        if definition.canopy_operator == ">=":
            forest &= cover >= definition.canopy_threshold
        else:
            forest &= cover > definition.canopy_threshold
    if fmask is not None:
        forest &= fmask == 1
    if datamask is not None:
        forest &= datamask == 1
    if definition.min_forest_patch_ha > 0 and forest.any():
        if row_areas is None:
            raise ValueError("a minimum forest patch area needs the window's row areas")
        forest = _drop_small_patches(forest, row_areas, definition)

    year_index = np.where(forest & (v != 0) & in_years, year - spec.first_year, -1)
    return {"missing": missing, "invalid": invalid, "valid": valid, "forest": forest, "year_index": year_index}


def _drop_small_patches(forest: np.ndarray, row_areas: np.ndarray, fd: ForestDefinition) -> np.ndarray:
    """Keep forest patches of at least ``fd.min_forest_patch_ha``; patches touching the window's border
    are kept (the caller reads a margin wide enough that they are large enough)."""
    from scipy import ndimage

    structure = np.ones((3, 3), bool) if fd.patch_connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    labels, n = ndimage.label(forest, structure=structure)
    if n == 0:
        return forest
    area = np.bincount(
        labels.ravel(), weights=np.broadcast_to(row_areas[:, None], labels.shape).ravel(), minlength=n + 1
    )
    keep = area >= fd.min_forest_patch_ha * M2_PER_HA
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep[border] = True
    keep[0] = False
    kept: np.ndarray = keep[labels]
    return kept


#: Bits of a pixel's class code (see :func:`pixel_codes`).
MISSING_BIT, INVALID_BIT, VALID_BIT, FOREST_BIT = 1, 2, 4, 8


def as_int(value: LayerWindow) -> np.ndarray:
    """A layer window as int32 with NO_TILE where no tile is, from an array or (array, present)."""
    if not isinstance(value, tuple):
        return np.asarray(value).astype("int32", copy=False)
    data, present = value
    out = data.astype("int32")
    if present is not None:
        out[~present] = NO_TILE
    return out


def gather(values: list[LayerWindow], k: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Values (int32, NO_TILE where no tile is) of cells in window ``k`` at flat position ``local``;
    each window is an int array or a (raw array, present mask or None) pair. Each window is
    indexed in place (no copy of the windows)."""
    out = np.empty(len(k), dtype="int32")
    order = np.argsort(k, kind="stable")  # cells come window by window already: this is cheap
    bounds = np.searchsorted(k[order], np.arange(len(values) + 1))
    for w, v in enumerate(values):
        cells = order[bounds[w] : bounds[w + 1]]
        if not len(cells):
            continue
        data, present = v if isinstance(v, tuple) else (v, None)
        out[cells] = np.asarray(data).ravel()[local[cells]]
        if present is not None:
            out[cells[~present.ravel()[local[cells]]]] = NO_TILE
    return out


def pixel_codes(
    layers: dict[str, np.ndarray], spec: ProductSpec, definition: ForestDefinition, row_areas: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """A window's pixel classes packed as bit flags (uint8) and the loss-year index (int16)."""
    px = classify_pixels(layers, spec, definition, row_areas)
    flags = (
        px["missing"] * MISSING_BIT | px["invalid"] * INVALID_BIT | px["valid"] * VALID_BIT | px["forest"] * FOREST_BIT
    ).astype("uint8")
    return flags, px["year_index"].astype("int16")
