"""What plots are screened against, told apart by type: loss products (:class:`.zonal.LossSource`),
alert products (:class:`.alerts.AlertSource`) and maps of the cut-off day
(:class:`.cutoff.ClassMapSource`) by the kind of their ``spec``; overlays
(:class:`.overlay.OverlayLayer`) have none."""

from __future__ import annotations

from typing import TypeAlias, TypeGuard

from .alerts import AlertSource, AlertSpec
from .cutoff import ClassMapSource, ClassSpec
from .overlay import OverlayLayer
from .pixels import ProductSpec
from .zonal import LossSource

#: What plots are screened against: loss and alert products, maps of the cut-off day, overlays.
Source: TypeAlias = "LossSource | AlertSource | ClassMapSource | OverlayLayer"


def is_loss(p: Source) -> TypeGuard[LossSource]:
    return isinstance(getattr(p, "spec", None), ProductSpec)


def is_alerts(p: Source) -> TypeGuard[AlertSource]:
    return isinstance(getattr(p, "spec", None), AlertSpec)


def is_map(p: Source) -> TypeGuard[ClassMapSource]:
    return isinstance(getattr(p, "spec", None), ClassSpec)
