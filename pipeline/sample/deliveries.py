"""The deliveries table: lots of cocoa from the plots of one cooperative, sold to buyers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

_BUYERS = ("Chocolates Sintéticos SAC", "Cacao Trading Example BV", "Fábrica de Prueba SA")


def _make_deliveries(rng: np.random.Generator, plots: gpd.GeoDataFrame) -> pd.DataFrame:
    """Lots of cocoa from the plots of one cooperative, sold to one of three buyers.

    About 60 % of the plots deliver, in lots of 3-10 plots; quantities (kg of dry beans) follow
    the plot's declared area. The defective rows always deliver (lots then hold an invalid plot
    and a duplicated id), and one delivery names a ``plot_id`` that is in no plot (a typo): the
    baseline must report it.
    """
    ids = plots["plot_id"].to_numpy()
    coops = plots["cooperative_id"].to_numpy()
    area = plots["declared_area_ha"].to_numpy(dtype=float)
    delivers = (rng.random(len(ids)) < 0.6) | (plots["note"].to_numpy() != "")
    rows = []
    lot = 0
    for coop in sorted(set(coops)):
        members = np.flatnonzero((coops == coop) & delivers)
        members = members[rng.permutation(len(members))]
        start = 0
        while start < len(members):
            size = int(rng.integers(3, 11))
            chunk = members[start : start + size]
            start += size
            lot += 1
            buyer = _BUYERS[int(rng.integers(len(_BUYERS)))]
            month = int(rng.integers(1, 13))
            day = int(rng.integers(1, 29))
            for i in chunk:
                kg = round(float(area[i] * rng.uniform(150.0, 450.0)), 1)
                rows.append((f"LOT-{lot:04d}", ids[i], kg, buyer, f"2025-{month:02d}-{day:02d}"))
    width = len(str(ids[0]).split("-")[-1])
    unknown = f"SM-{0:0{width}d}"  # ids start at 1: this one is in no plot
    k = int(rng.integers(len(rows)))
    rows.insert(k + 1, (rows[k][0], unknown, 120.0, rows[k][3], rows[k][4]))
    return pd.DataFrame(rows, columns=["lot_id", "plot_id", "quantity_kg", "buyer", "date"])
