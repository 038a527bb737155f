"""Deforestation-alert products: open and check their layers (through :mod:`.rasters`).

An :class:`AlertProduct` is the alert layer (a file, folder of tiles, glob or URLs, mosaicked
virtually like every layer), an optional confidence layer (encodings with a confidence band) and
an optional forest mask, each on its own grid (computed on the finest: see :mod:`.rasters`), with
the :class:`~pipeline.engine.alerts.AlertSpec` that says how to read a pixel's date and
confidence. The engine measures it like a loss product
(:func:`pipeline.engine.zonal.measure_product` with an
:class:`~pipeline.engine.alerts.AlertStatistics`).

0 always means "no alert": GFW's tiles declare 0 as their nodata value, but a pixel without an
alert is data (the product looked and saw nothing), so a declared nodata of 0 is read as no
alert; any other declared nodata value (or the dataset's ``nodata``) is no data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import AlertDatasetConfig, AlertEncoding
from ..engine.alerts import AlertSpec, day_number
from ..engine.coverage import Grid
from ..engine.grids import finest
from ..vocab import ALERTS_KIND, CONFIDENCE_LEVELS
from .rasters import Layer, layer_files, open_companion, open_layer


@dataclass(frozen=True)
class AlertProduct:
    """An alert product: its layers and how to read their values (picklable)."""

    name: str
    alerts: Layer
    spec: AlertSpec
    encoding: AlertEncoding
    min_confidence: str
    confidence: Layer | None = None
    forest_mask: Layer | None = None
    notes: tuple[str, ...] = field(default=())
    kind: str = ALERTS_KIND

    @property
    def grid(self) -> Grid:
        """The finest of its layers' grids (the alert layer's when they share one)."""
        return finest([self.alerts.grid, *(layer.grid for layer in self.layers.values())])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.alerts.bounds

    @property
    def layers(self) -> dict[str, Layer]:
        out = {"alerts": self.alerts}
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.forest_mask is not None:
            out["forest_mask"] = self.forest_mask
        return out

    @property
    def levels(self) -> tuple[str, ...]:
        """The confidence levels of the product, lowest first (empty: no confidence)."""
        return self.spec.levels

    @property
    def counted(self) -> tuple[bool, ...]:
        """Per confidence class: whether its alerts count (every alert, without confidence levels)."""
        if not self.levels:
            return (True,)
        low = CONFIDENCE_LEVELS.index(self.min_confidence)
        return tuple(CONFIDENCE_LEVELS.index(level) >= low for level in self.levels)

    def fingerprint(self) -> tuple:
        """Every setting and each file's name and identity (size, times, inode; URLs by their address)."""
        files = layer_files(self.layers)
        return (self.name, self.kind, self.spec, self.min_confidence, tuple(files))

    def describe(self) -> str:
        return f"{self.name} (alerts, {self.encoding.describe()}): {len(self.alerts.tiles)} alert tile(s)"


def alert_spec(encoding: AlertEncoding, nodata: int | None) -> AlertSpec:
    """The engine's reading of an encoding."""
    levels = encoding.level_names
    codes = tuple(sorted(encoding.levels))
    return AlertSpec(
        date=encoding.date,
        epoch=day_number(encoding.epoch),
        confidence=encoding.confidence,
        divisor=10**encoding.date_digits,
        codes=codes,
        classes=tuple(levels.index(encoding.levels[c]) for c in codes),
        levels=levels,
        nodata=nodata,
    )


def open_alert_product(name: str, dataset: AlertDatasetConfig, *, check_pixels: bool = True) -> AlertProduct:
    """Open and check an alert product's layers; raise :class:`RasterError` naming the file and problem."""
    alerts = open_layer(dataset.alerts, "alerts", check_pixels=check_pixels)
    notes = []
    nodata = dataset.nodata
    if nodata is None and alerts.nodata is not None:
        if float(alerts.nodata) == 0:
            notes.append("the alert files declare 0 as nodata: read as 'no alert', as the encoding says")
        else:
            nodata = int(alerts.nodata)
    layers: dict[str, Layer | None] = {}
    for key, role, spec in (
        ("confidence", "alert-confidence", dataset.confidence_layer),
        ("forest_mask", "forest-mask", dataset.forest_mask),
    ):
        if spec is None:
            layers[key] = None
            continue
        layers[key] = open_companion(spec, role, alerts, "alert", check_pixels=check_pixels)
    return AlertProduct(
        name=name,
        alerts=alerts,
        spec=alert_spec(dataset.encoding, nodata),
        encoding=dataset.encoding,
        min_confidence=dataset.min_confidence,
        confidence=layers["confidence"],
        forest_mask=layers["forest_mask"],
        notes=tuple(notes),
    )
