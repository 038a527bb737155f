# %% [markdown]
# # Check a plot's hectares by hand
#
# A notebook in the "percent" format (open it in VS Code or JupyterLab with jupytext, or run it as a
# script: `.venv/bin/python notebooks/check_a_plot_by_hand.py [PLOT_ID]`).
#
# It takes one plot from `outputs/screening.gpkg` (after `make run`) and lists every pixel the plot
# touches: the share of the pixel inside the plot, the pixel's area on the WGS84 ellipsoid, the
# pixel's tree cover and loss year. Summing *share × area* over the right pixels gives exactly the
# plot's `forest_2000_ha` and `loss_YYYY_ha` — the same arithmetic a GIS analyst can repeat in a
# spreadsheet.

# %%
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from pipeline.engine.coverage import coverage_fractions
from pipeline.engine.geodesy import pixel_row_areas
from pipeline.engine.pixels import NO_TILE
from pipeline.io.rasters import open_layer

REPO = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd().parent
OUTPUT = REPO / "outputs" / "screening.gpkg"
plot_id = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else None

meta = dict(pyogrio.read_dataframe(OUTPUT, layer="run_metadata")[["key", "value"]].values)
plots = pyogrio.read_dataframe(OUTPUT, layer="plots")
if plot_id is None:  # a plot with some loss after the reference year, for an interesting table
    candidates = plots[plots["status"] == "deforestation_detected"]
    plot_id = (candidates if len(candidates) else plots[plots["status"] != "invalid"])["plot_id"].iloc[0]
plot = plots[plots["plot_id"] == plot_id].iloc[0]
threshold = float(meta["canopy_threshold_pct"])
print(f"plot {plot_id}: status {plot['status']} — {plot['status_reason']}")

# %% [markdown]
# ## Every pixel under the plot

# %%
# The rasters as the screening read them: a file, a folder of tiles or a glob (see run_metadata).
loss_layer = open_layer(meta["loss_year_raster"], "loss-year")
cover_layer = open_layer(meta["tree_cover_raster"], "tree-cover")
grid = loss_layer.grid
cov = coverage_fractions([plot.geometry], grid)
r0, c0 = int(cov.row.min()), int(cov.col.min())
h, w = int(cov.row.max()) - r0 + 1, int(cov.col.max()) - c0 + 1
loss = loss_layer.read(r0, c0, h, w)[cov.row - r0, cov.col - c0]
cover = cover_layer.read(r0, c0, h, w)[cov.row - r0, cov.col - c0]
inside = (loss != NO_TILE) & (cover != NO_TILE)  # pixels under a tile of both layers
loss, cover = loss[inside], cover[inside]

table = pd.DataFrame(
    {
        "row": cov.row[inside],
        "col": cov.col[inside],
        "lat_top": grid.y0 - cov.row[inside] * grid.dy,
        "share_inside": cov.fraction[inside],
        "pixel_area_m2": pixel_row_areas(grid.y0, grid.dy, grid.dx, 0, int(cov.row.max()) + 1)[cov.row[inside]],
        "treecover2000": cover,
        "lossyear": loss,
    }
)
table["area_inside_m2"] = table["share_inside"] * table["pixel_area_m2"]
table["forest"] = table["treecover2000"] > threshold
print(table.to_string(index=False, float_format=lambda x: f"{x:.6f}"))

# %% [markdown]
# ## The sums, next to the figures in the GeoPackage

# %%
checks = {"forest_2000_ha": table.loc[table["forest"], "area_inside_m2"].sum() / 10_000}
for code in sorted(set(table.loc[table["forest"] & (table["lossyear"] > 0) & (table["lossyear"] < 255), "lossyear"])):
    year = 2000 + int(code)
    checks[f"loss_{year}_ha"] = (
        table.loc[table["forest"] & (table["lossyear"] == code), "area_inside_m2"].sum() / 10_000
    )
for column, by_hand in checks.items():
    print(f"{column:<18} by hand {by_hand:12.6f} ha   in the GeoPackage {plot[column]:12.6f} ha")
    assert np.isclose(by_hand, plot[column], atol=1e-9), column
print("All figures match.")
