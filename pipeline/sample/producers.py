"""The columns an EU due-diligence statement needs: each producer's name, the country and the
place of production (``producer_name``, ``country``, ``place``), added to the plots table.

They come from their own random stream and from the producer and cooperative of each row, so
adding them changed nothing else in the sample: the rasters, geometries and other columns are
the same as before. Every name is invented.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

_FIRST_NAMES = (
    "Abel", "Ana", "Beatriz", "Carlos", "Carmen", "César", "Diana", "Edwin", "Elena", "Fabiola",
    "Fidel", "Gladys", "Héctor", "Irma", "Jaime", "Juana", "Lidia", "Luis", "Marco", "María",
    "Nelly", "Óscar", "Pedro", "Rosa", "Rubén", "Sonia", "Teodoro", "Vilma", "Walter", "Yolanda",
)  # fmt: skip
_SURNAMES = (
    "Aguilar", "Arévalo", "Bardales", "Cárdenas", "Chávez", "Del Águila", "Flores", "García",
    "Huamán", "Isuiza", "Lozano", "Mego", "Navarro", "Olano", "Panduro", "Pinedo", "Quispe",
    "Ramírez", "Rengifo", "Ríos", "Sangama", "Shupingahua", "Tapullima", "Torres", "Upiachihua",
    "Vásquez", "Yumbato", "Zumaeta",
)  # fmt: skip
#: An invented town per cooperative (in the order of the cooperatives' names).
_TOWNS = (
    "Puerto Huallaga", "Alto Mayo", "Bajo Huallaga", "Tocache", "Juanjuí", "Sisa", "Nuevo Bellavista",
    "Saposoa", "Frontera Biavo", "Valle del Ponaza", "Huayabamba", "Pachiza", "El Dorado", "Uchiza",
    "Picota", "Tres Unidos", "Shamboyacu", "Campanilla", "Chazuta", "Oro Verde",
)  # fmt: skip

#: ISO 3166-1 alpha-2 code of Peru.
COUNTRY = "PE"


def _add_producer_columns(rng: np.random.Generator, plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``plots`` with ``producer_name`` (one invented name per ``producer_id``), ``country`` (PE)
    and ``place`` (a sector of the cooperative's town, San Martín) after its other attributes."""
    producers = sorted(set(plots["producer_id"]))
    first = rng.integers(len(_FIRST_NAMES), size=len(producers))
    last = rng.integers(len(_SURNAMES), size=(len(producers), 2))
    name_of = {p: f"{_FIRST_NAMES[f]} {_SURNAMES[a]} {_SURNAMES[b]}" for p, f, (a, b) in zip(producers, first, last)}
    sectors = rng.integers(1, 7, size=len(producers))
    sector_of = dict(zip(producers, sectors))
    coops = plots["cooperative_id"].to_numpy()
    towns = [_TOWNS[(int(c.split("-")[1]) - 1) % len(_TOWNS)] for c in coops]
    out = plots.drop(columns="geometry")
    out["producer_name"] = [name_of[p] for p in plots["producer_id"]]
    out["country"] = COUNTRY
    out["place"] = [f"Sector {sector_of[p]}, {town}, San Martín" for p, town in zip(plots["producer_id"], towns)]
    return gpd.GeoDataFrame(out, geometry=plots.geometry.to_numpy(), crs=plots.crs)
