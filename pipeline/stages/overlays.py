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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import reasons
from ..engine.geodesy import M2_PER_HA
from ..engine.overlay import OverlayLayer, overlaps
from ..i18n import N_, _
from ..vocab import ASSESSED, FREE, REVIEW

#: The kinds of layer, in words (English message ids, translated when a reason is rendered).
CATEGORIES = {
    "protected_area": N_("protected area"),
    "indigenous_land": N_("indigenous or native community land"),
    "concession": N_("concession"),
    "other": N_("overlay"),
}


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


def overlay_part(layer: OverlayLayer, ha: float, pct: float, names: str) -> dict[str, object]:
    """The reason part of a plot that overlaps ``layer`` (codes ``overlay_review``, ``overlay_flag``,
    ``overlay_exclude`` of :data:`pipeline.reasons.REASONS`)."""
    return reasons.part(
        f"overlay_{layer.effect}",
        overlap_ha=float(ha),
        overlap_pct=float(pct),
        kind_text=CATEGORIES.get(layer.category, layer.category),
        names=str(names),
        overlay=layer.name,
    )


def apply_overlay_effects(verdict: pd.DataFrame, columns: pd.DataFrame, layers: Sequence[OverlayLayer]) -> pd.DataFrame:
    """The verdict (``status``, ``deforestation_free`` and the reason's three columns) after the
    overlays' effects: ``review`` puts its part first and makes a free plot ``review``; the others
    add their part at the end. Plots not assessed or invalid are left as they are."""
    out = verdict.copy()
    status = out["status"].astype(str).to_numpy().copy()
    text = out["status_reason"].astype(str).to_numpy().copy()
    code = out["status_reason_code"].astype(str).to_numpy().copy()
    params = out["status_reason_params"].astype(str).to_numpy().copy()
    assessed = np.isin(status, list(ASSESSED))
    join = _("; ")
    for layer in layers:
        ha = columns[f"{layer.name}_overlap_ha"].to_numpy(dtype="float64")
        pct = columns[f"{layer.name}_overlap_pct"].to_numpy(dtype="float64")
        names = columns[f"{layer.name}_names"].to_numpy(dtype=object)
        for i in np.flatnonzero(assessed & (np.nan_to_num(ha) > 0)):
            p = overlay_part(layer, ha[i], pct[i], names[i])
            said, parts = reasons.render_part(p), reasons.decode(params[i])
            if layer.effect == "review" and status[i] in (FREE, REVIEW):
                status[i], text[i], code[i] = REVIEW, f"{said}{join}{text[i]}", p["code"]
                params[i] = reasons.encode([p, *parts])
            else:
                text[i], params[i] = f"{text[i]}{join}{said}", reasons.encode([*parts, p])
    out["status"], out["status_reason"], out["status_reason_code"], out["status_reason_params"] = (
        status,
        text,
        code,
        params,
    )
    free = pd.array(np.where(status == FREE, True, np.array(None)), dtype="boolean")
    out["deforestation_free"] = out["deforestation_free"].where(status != REVIEW, free)
    return out


def overlay_summary(plots: pd.DataFrame, layers: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
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
                "kind": _(CATEGORIES.get(layer["kind"], layer["kind"])),
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
