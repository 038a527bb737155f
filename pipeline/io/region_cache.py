"""A cache of whole-region figures in the user cache (``<cache>/regions/``, see
:func:`pipeline.io.provenance.cache_dir`).

Measuring a department of 50,000 km² reads some 80 million Hansen pixels; a yearly rerun, or a
new plot list over the same regions, should not read them again. Each region's areas (m²: total,
valid, forest, per loss year, missing, invalid; a :class:`pipeline.engine.stats.PlotStats` row)
are stored in a small JSON file named by a key of

* the region's geometry (SHA-256 of its WKB, as repaired),
* the product's fingerprint (:meth:`pipeline.io.rasters.Product.fingerprint`: every reading
  setting and each file's name, size and modification time),
* the forest definition (:class:`pipeline.config.ForestDefinition`'s fields),
* :data:`CACHE_VERSION` (bumped when the engine's figures change).

A cache that cannot be read or written only costs measuring again; files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..config import ForestDefinition
from ..engine.stats import PlotStats
from .provenance import cache_dir

log = logging.getLogger(__name__)

#: Part of every key: a new value invalidates every cached region.
CACHE_VERSION = 1


class RegionCache:
    """Region figures by (geometry, product, forest definition), one JSON file each under ``folder``
    (default: ``regions/`` in the user cache)."""

    def __init__(self, folder: Path | None = None):
        self.folder = cache_dir() / "regions" if folder is None else Path(folder)
        self.hits = 0
        self.stored = 0

    @staticmethod
    def key(geom, product: Any, forest: ForestDefinition) -> str:
        """The key of a region's figures: SHA-256 over the geometry's WKB digest, the product's
        fingerprint, the forest definition and the cache version."""
        wkb = hashlib.sha256(shapely.to_wkb(geom, output_dimension=2, include_srid=False)).hexdigest()
        fingerprint = product.fingerprint() if hasattr(product, "fingerprint") else repr(product)
        definition = {name: getattr(forest, name) for name in ForestDefinition.model_fields}
        text = json.dumps([CACHE_VERSION, wkb, fingerprint, definition], default=str, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str, n_years: int) -> PlotStats | None:
        """The stored figures (a one-row PlotStats), or None when absent or unreadable."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            stats = PlotStats.zeros(1, n_years)
            for f in PlotStats.FIELDS:
                value = np.asarray(data[f], dtype="float64")
                if value.shape != getattr(stats, f)[0].shape:
                    return None
                getattr(stats, f)[0] = value
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.hits += 1
        return stats

    def put(self, key: str, stats: PlotStats) -> None:
        """Store a one-row PlotStats (atomically; failures are logged at debug level)."""
        data = {f: getattr(stats, f)[0].tolist() for f in PlotStats.FIELDS}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".region.", suffix=".json", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                os.replace(tmp, self._path(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self.stored += 1
        except OSError as exc:
            log.debug("cannot store region figures in %s (%s)", self.folder, exc)
