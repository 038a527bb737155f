"""Evidence pages: one per review or detected plot, with its map, loss, decision trace, QC,
links and KML; screenshotted in headless chromium when it is installed."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from conftest import pixel_box, write_raster

from pipeline.config import ScreeningConfig
from pipeline.io.evidence import evidence_files
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.evidence import page_slugs, plot_evidence
from pipeline.stages.screening import screen_plots

X0, Y0 = -76.5, -8.0


def screened(tmp_path):
    loss = np.zeros((40, 60), dtype="uint8")
    loss[8:14, 8:13] = 22
    loss[20:22, 15:17] = 23
    loss[10, 40] = 21  # one pixel: a small loss, under the review tolerance inside plot C
    lp = write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "treecover2000.tif", np.full(loss.shape, 90, "uint8"), x0=X0, y0=Y0)
    product = open_product("hansen", loss_year=lp, tree_cover=cp)
    geoms = [pixel_box(4, 4, 24, 30), pixel_box(25, 4, 36, 30), pixel_box(39.7, 9.7, 40.3, 10.3)]
    frame = gpd.GeoDataFrame({"plot_id": ["A/1", "B", "C"]}, geometry=geoms, crs="EPSG:4326")
    return screen_plots(normalise(frame), product)


def test_a_page_per_review_or_detected_plot_with_its_evidence(tmp_path):
    res = screened(tmp_path)
    statuses = dict(zip(res.plots["plot_id"], res.plots["status"]))
    assert statuses == {"A/1": "deforestation_detected", "B": "deforestation_free", "C": "review"}
    slugs = page_slugs(res.plots["plot_id"])
    assert slugs["A/1"] == "A-1"
    evidence = plot_evidence(res.plots, res.loss_patches, res.loss_by_year, res.issues, ScreeningConfig(), slugs)
    assert [e.plot_id for e in evidence] == ["A/1", "C"]
    a = evidence[0]
    # the trace: not invalid, not not_assessed, detected decides, the rest not reached
    assert [r.applies for r in a.trace] == [False, False, True, None, None]
    assert "more than 0.1 ha" in a.trace[2].test
    assert [n[0] for n in a.neighbours] == ["B"]
    assert [(y, p) for y, p, _ in a.loss] == [(2022, "hansen"), (2023, "hansen")]
    assert sum(ha for _, _, ha in a.loss) == pytest.approx(sum(p["area_ha"] for p in a.patches))
    assert set(a.links) == {"Global Forest Watch", "Google Earth", "OpenStreetMap"}
    ET.fromstring(a.kml.split("\n", 1)[1])  # well-formed
    assert a.kml.count("<Placemark>") == 1 + len(a.patches) == 3
    files = evidence_files(evidence, "Report", "../../report.html")
    assert set(files) == {"plots/evidence.css", "plots/A-1.html", "plots/A-1.kml", "plots/C.html", "plots/C.kml"}
    html = files["plots/A-1.html"]
    assert "deforestation_detected" in html and "<svg" in html and "A-1.kml" in html
    assert "openstreetmap.org/?mlat=" in html and "decides" in html
    assert len(html) < 20_000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_an_evidence_page_renders_in_headless_chromium(tmp_path):
    # the example and the screenshot of docs/images/evidence-page.png (tools/docs_images.py)
    from PIL import Image

    from tools.docs_images import example, screenshot

    res = example(tmp_path)
    evidence = plot_evidence(
        res.plots, res.loss_patches, res.loss_by_year, res.issues, ScreeningConfig(), page_slugs(res.plots["plot_id"])
    )
    assert [e.plot_id for e in evidence] == ["SM-0417", "SM-0418"]
    edge = evidence[1]
    assert edge.row["edge_only_loss"] and "boundary before the forest" in edge.row["status_reason"]
    for name, text in evidence_files(evidence, "report", "../../report.html").items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    png = tmp_path / "page.png"
    assert screenshot(tmp_path / "plots" / "SM-0417.html", png, 1000, 1100)
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert image.shape[:2] == (1100, 1000)
    # the detected badge's red, the patches' yellow and the map's background are on the page
    for colour, pixels in (((0xD7, 0x30, 0x27), 500), ((0xFE, 0xD9, 0x76), 500), ((0xF4, 0xF1, 0xEA), 20_000)):
        assert (np.abs(image - colour).sum(axis=2) < 12).sum() > pixels, colour
