"""Overlays: what lies under each plot (protected areas, native communities' lands, concessions)
and what that does to its status (frames in, frames out; the layers come from
:mod:`pipeline.io.overlays`, the areas from :mod:`pipeline.engine.overlay`).

* :func:`overlay_columns` — per plot and layer ``<name>_overlap_ha``, ``<name>_overlap_pct`` (of
  the plot's area) and ``<name>_names`` (the features it overlaps, ``; ``-separated);
* :func:`apply_overlay_effects` — after the loss rules: ``review`` turns a deforestation-free plot
  that overlaps the layer into ``review`` (a person must look at its legality); ``flag`` and
  ``exclude`` keep the status and say so in the reason (``exclude`` also leaves the plot out of
  the EUDR export);
* :func:`overlay_summary` — per layer, the plots and hectares that overlap it, for the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..engine.geodesy import M2_PER_HA
from ..engine.overlay import OverlayLayer, overlaps
from ..vocab import ASSESSED, FREE, REVIEW

#: What each effect does, in words (the report and the docs).
EFFECTS = {
    "review": "a plot that overlaps it cannot be deforestation-free without a person looking: review",
    "flag": "reported only: the status does not change",
    "exclude": "a plot that overlaps it is left out of the EUDR export",
}

#: The kinds of layer, in words.
CATEGORIES = {
    "protected_area": "protected area",
    "indigenous_land": "indigenous or native community land",
    "concession": "concession",
    "other": "overlay",
}


def overlay_names(layers: Sequence[OverlayLayer]) -> list[str]:
    """The columns the layers add to ``plots``, in order."""
    return [f"{layer.name}_{suffix}" for layer in layers for suffix in ("overlap_ha", "overlap_pct", "names")]


def overlay_columns(geoms: np.ndarray, area_ha: np.ndarray, layers: Sequence[OverlayLayer]) -> pd.DataFrame:
    """The overlay columns of a batch of plots (``geoms``: what is screened; ``area_ha``: its area)."""
    columns: dict[str, object] = {}
    area_ha = np.asarray(area_ha, dtype="float64")
    for layer in layers:
        found = overlaps(layer, geoms)
        ha = found.area_m2 / M2_PER_HA
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(area_ha > 0, np.minimum(100 * ha / area_ha, 100.0), np.nan)
        missing = np.isnan(area_ha)
        columns[f"{layer.name}_overlap_ha"] = np.where(missing, np.nan, ha)
        columns[f"{layer.name}_overlap_pct"] = np.where(missing, np.nan, pct)
        columns[f"{layer.name}_names"] = np.array(["; ".join(x) for x in found.labels], dtype=object)
    return pd.DataFrame(columns)


def overlay_sentence(layer: OverlayLayer, ha: float, pct: float, names: str) -> str:
    """One sentence of a plot's reason about one layer."""
    what = CATEGORIES.get(layer.category, layer.category)
    if layer.effect == "review":
        return (
            f"{ha:.2f} ha ({pct:.1f} %) inside {what} {names} (overlay {layer.name}): a person must check "
            "the plot's legality before it is called deforestation-free"
        )
    if layer.effect == "exclude":
        return f"{ha:.2f} ha ({pct:.1f} %) inside {what} {names} (overlay {layer.name}): left out of the EUDR export"
    return f"{ha:.2f} ha ({pct:.1f} %) inside {what} {names} (overlay {layer.name})"


def apply_overlay_effects(verdict: pd.DataFrame, columns: pd.DataFrame, layers: Sequence[OverlayLayer]) -> pd.DataFrame:
    """The verdict (``status``, ``deforestation_free``, ``status_reason``) after the overlays'
    effects; plots not assessed or invalid are left as they are."""
    out = verdict.copy()
    status = out["status"].astype(str).to_numpy().copy()
    reason = out["status_reason"].astype(str).to_numpy().copy()
    assessed = np.isin(status, list(ASSESSED))
    for layer in layers:
        ha = columns[f"{layer.name}_overlap_ha"].to_numpy(dtype="float64")
        pct = columns[f"{layer.name}_overlap_pct"].to_numpy(dtype="float64")
        names = columns[f"{layer.name}_names"].to_numpy(dtype=object)
        hit = np.flatnonzero(assessed & (np.nan_to_num(ha) > 0))
        for i in hit:
            sentence = overlay_sentence(layer, ha[i], pct[i], names[i])
            if layer.effect == "review" and status[i] == FREE:
                status[i], reason[i] = REVIEW, f"{sentence}; {reason[i]}"
            else:
                reason[i] = f"{reason[i]}; {sentence}"
    out["status"] = status
    out["status_reason"] = reason
    free = pd.array(np.where(status == FREE, True, None), dtype="boolean")
    out["deforestation_free"] = out["deforestation_free"].where(status != REVIEW, free)
    return out


def overlay_summary(plots: pd.DataFrame, layers: Sequence[dict]) -> pd.DataFrame:
    """Per layer (``layers``: dicts with name, kind, effect, as the screening stores them): the plots
    that overlap it, their overlap in ha, and how many of them are ``review`` or free."""
    rows = []
    for layer in layers:
        column = f"{layer['name']}_overlap_ha"
        if column not in plots.columns:
            continue
        ha = pd.to_numeric(plots[column], errors="coerce").fillna(0)
        hit = ha > 0
        status = plots.loc[hit, "status"].astype(str)
        rows.append(
            {
                "overlay": layer["name"],
                "kind": CATEGORIES.get(layer["kind"], layer["kind"]),
                "effect": layer["effect"],
                "plots": int(hit.sum()),
                "overlap_ha": round(float(ha[hit].sum()), 4),
                "review": int((status == REVIEW).sum()),
                "deforestation_free": int((status == FREE).sum()),
            }
        )
    return pd.DataFrame(rows, columns=["overlay", "kind", "effect", "plots", "overlap_ha", "review",
                                       "deforestation_free"])  # fmt: skip


def overlays_metadata(layers: Sequence[OverlayLayer]) -> str:
    """What the screening's metadata (key ``overlays``) records of each layer, as JSON: its name,
    kind and effect (which the report and the EUDR export read back), file, features, and the
    features repaired or dropped when read."""
    return json.dumps(
        [
            {"name": o.name, "kind": o.category, "effect": o.effect, "file": o.source, "features": len(o.geoms),
             "repaired": o.repaired, "dropped": o.dropped}
            for o in layers
        ],
        ensure_ascii=False,
    )  # fmt: skip
