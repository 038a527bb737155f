"""Make the images of docs/review.md: an evidence page screenshotted in headless chromium, and
the field form as QGIS draws it (headless, ``QT_QPA_PLATFORM=offscreen``).

    .venv/bin/python tools/docs_images.py            # writes docs/images/evidence-page.png, field-form.png

Needs chromium (the evidence page) and QGIS's Python bindings under /usr/bin/python3 (the form);
each image is skipped, with a message, when its tool is missing. The example is built by hand
(five plots over a small Hansen-format raster) so that it is the same on every machine;
``tests/test_evidence.py`` screenshots a page with :func:`screenshot` too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.config import ScreeningConfig  # noqa: E402
from pipeline.io.evidence import evidence_files  # noqa: E402
from pipeline.io.fieldpack import write_pack  # noqa: E402
from pipeline.io.gpkg_style import connect  # noqa: E402
from pipeline.io.plots import normalise  # noqa: E402
from pipeline.io.rasters import open_product  # noqa: E402
from pipeline.stages.evidence import page_slugs, plot_evidence  # noqa: E402
from pipeline.stages.fieldcheck import build_pack  # noqa: E402
from pipeline.stages.screening import screen_plots  # noqa: E402

X0, Y0, PX = -76.5, -8.0, 0.00025


def _raster(path: Path, array: np.ndarray, nodata=None) -> Path:
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1, dtype=array.dtype,
                   crs="EPSG:4326", transform=from_origin(X0, Y0, PX, PX), nodata=nodata)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def _box(c0, r0, c1, r1):
    return shapely.box(X0 + c0 * PX, Y0 - r1 * PX, X0 + c1 * PX, Y0 - r0 * PX)


def example(folder: Path):
    """A screening of five neighbouring plots, two with loss after 2020 (one along its edge)."""
    loss = np.zeros((50, 80), dtype="uint8")
    loss[10:17, 9:15] = 22
    loss[12:14, 15:17] = 23
    loss[30:33, 18:20] = 24
    loss[8:40, 44] = 22  # along the east edge of the second plot: its boundary, not its forest
    loss[5:45, 45:60] = 21
    lp = _raster(folder / "lossyear.tif", loss, nodata=255)
    cp = _raster(folder / "treecover2000.tif", np.full(loss.shape, 85, "uint8"))
    geoms = [_box(5, 6, 26, 40), _box(27, 8, 44.6, 40), _box(5, 41, 26, 48), _box(62, 6, 76, 30)]
    frame = gpd.GeoDataFrame(
        {"plot_id": ["SM-0417", "SM-0418", "SM-0421", "SM-0502"], "producer_id": ["P-031", "P-032", "P-035", "P-040"]},
        geometry=geoms,
        crs="EPSG:4326",
    )
    return screen_plots(normalise(frame), open_product("hansen", loss_year=lp, tree_cover=cp))


def screenshot(page: Path, png: Path, width: int = 1000, height: int = 1100) -> bool:
    """Screenshot ``page`` in headless chromium; False when chromium is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return False
    with tempfile.TemporaryDirectory() as home:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
             f"--window-size={width},{height}", page.as_uri()],
            capture_output=True, timeout=120, env={"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )  # fmt: skip
    return png.is_file()


FORM = """
import sys
from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
from qgis.gui import QgsAttributeForm, QgsGui
from qgis.PyQt.QtCore import QSize
app = QgsApplication([], True)
app.initQgis()
QgsGui.editorWidgetRegistry().initEditors()
layer = QgsVectorLayer(sys.argv[1] + "|layername=checks", "checks", "ogr")
QgsProject.instance().addMapLayer(layer)
layer.startEditing()
feature = next(layer.getFeatures())
form = QgsAttributeForm(layer, feature)
form.resize(QSize(620, 800))
form.show()
app.processEvents()
form.grab().save(sys.argv[2])
layer.rollBack()
"""


def form_screenshot(pack: Path, png: Path) -> bool:
    """The ``checks`` form of a package as QGIS draws it; False without QGIS's Python bindings."""
    python = "/usr/bin/python3"
    if subprocess.run([python, "-c", "import qgis.gui"], capture_output=True).returncode != 0:
        return False
    with tempfile.TemporaryDirectory() as home:
        env = {"QT_QPA_PLATFORM": "offscreen", "HOME": home, "PATH": "/usr/bin:/bin"}
        subprocess.run([python, "-c", FORM, str(pack), str(png)], capture_output=True, timeout=180, env=env)
    return png.is_file()


def main() -> int:
    out = REPO / "docs" / "images"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        res = example(folder)
        evidence = plot_evidence(
            res.plots, res.loss_patches, res.loss_by_year, res.issues, ScreeningConfig(),
            page_slugs(res.plots["plot_id"]),
        )  # fmt: skip
        for name, text in evidence_files(evidence, "report", "../../report.html").items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        if screenshot(folder / "plots" / "SM-0417.html", out / "evidence-page.png"):
            print(f"wrote {out / 'evidence-page.png'}")
        else:
            print("chromium not found: evidence-page.png not made")
        checks, patches, pack_plots = build_pack(res.plots, res.loss_patches, producer_column="producer_id")
        pack = write_pack(folder / "pack.gpkg", checks, patches, pack_plots, {"screening_sha256": ""})
        con = connect(pack)
        with con:
            con.execute(
                "UPDATE checks SET field_verdict = 'no_deforestation', land_use_2020 = 'cocoa', "
                "shade_trees_removed = 'no', checked_by = 'J. Ríos', checked_on = '2026-03-02', "
                "notes = 'cocoa under shade since 2010', photos = 'DCIM/SM-0417-1.jpg' WHERE plot_id = 'SM-0417'"
            )
        con.close()
        if form_screenshot(pack, out / "field-form.png"):
            print(f"wrote {out / 'field-form.png'}")
        else:
            print("QGIS's Python bindings not found: field-form.png not made")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
