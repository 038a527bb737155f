"""The field-check loop: a package of forms, forms filled as a technician would, the import into
the review log, and the screening settled by the reviews (hand-built rasters)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import pixel_box, write_raster

from pipeline.io.fieldpack import append_reviews, read_pack, read_reviews, write_pack
from pipeline.io.gpkg_style import connect
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.fieldcheck import build_pack, check_forms
from pipeline.stages.screening import screen_plots
from pipeline.vocab import CHECK_COLUMNS, FORM_NAMES

X0, Y0 = -76.5, -8.0
TODAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 12, 0, 0)


def landscape(tmp_path, extra_loss: bool = False):
    """Five plots in a row: A and B lost forest in 2022, C in 2023, D none, E at the edge in 2022."""
    loss = np.zeros((20, 80), dtype="uint8")
    loss[5:9, 5:9] = 22  # A
    loss[5:7, 20:23] = 22  # B
    loss[6:9, 35:38] = 23  # C
    loss[2:18, 73] = 22  # E: a strip along its east edge
    if extra_loss:
        loss[12:14, 22:24] = 24  # B: new loss after the check
    folder = tmp_path / ("later" if extra_loss else "first")
    folder.mkdir(exist_ok=True)
    lp = write_raster(folder / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(folder / "treecover2000.tif", np.full(loss.shape, 90, "uint8"), x0=X0, y0=Y0)
    return open_product("hansen", loss_year=lp, tree_cover=cp)


def plots():
    geoms = [pixel_box(c, 2, c + 12, 18) for c in (2, 17, 32, 47)] + [pixel_box(62, 2, 73.6, 18)]
    frame = gpd.GeoDataFrame(
        {
            "plot_id": ["A", "B", "C", "D", "E"],
            "producer_id": ["P-1", "P-2", "P-3", "P-4", "P-5"],
            "cooperative_id": ["COOP-01", "COOP-01", "COOP-02", "COOP-01", "COOP-01"],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    return normalise(frame)


def make_pack(tmp_path, **options):
    screened = screen_plots(plots(), landscape(tmp_path))
    checks, patches, pack_plots = build_pack(
        screened.plots, screened.loss_patches, producer_column="producer_id", **options
    )
    meta = {"screening_sha256": "f" * 64, "screening_created_utc": "2026-03-01T10:00:00Z"}
    path = write_pack(tmp_path / "pack.gpkg", checks, patches, pack_plots, meta)
    return screened, path


def fill(path, answers):
    """Fill forms as QField does: the features of ``checks`` updated in place (a connection with
    the GeoPackage's SQL functions, which its spatial index's triggers call)."""
    con = connect(path)
    with con:
        for plot_id, values in answers:
            if plot_id not in {r[0] for r in con.execute("SELECT plot_id FROM checks")}:
                con.execute("INSERT INTO checks (plot_id) VALUES (?)", (plot_id,))
            sets = ", ".join(f'"{k}" = ?' for k in values)
            con.execute(f"UPDATE checks SET {sets} WHERE plot_id = ?", (*values.values(), plot_id))
    con.close()


def test_the_package_holds_the_plots_to_check_and_its_form(tmp_path):
    screened, path = make_pack(tmp_path, group_column="cooperative_id", group="COOP-01")
    layers = dict(pyogrio.list_layers(path))
    assert {"checks", "patches", "pack_plots", "layer_styles"} <= set(layers)
    checks = pyogrio.read_dataframe(path, layer="checks")
    # review and detected plots of COOP-01 only: A, B and E (C is another cooperative, D is free)
    assert checks["plot_id"].tolist() == ["A", "B", "E"]
    assert checks["producer"].tolist() == ["P-1", "P-2", "P-5"]
    assert list(checks.columns[:-1]) == [*CHECK_COLUMNS, *FORM_NAMES]
    assert checks[list(FORM_NAMES)].isna().all().all()
    assert checks.loc[0, "loss_years"] == "2022"
    patches = pyogrio.read_dataframe(path, layer="patches")
    assert set(patches["plot_id"]) == {"A", "B", "E"}
    # the form: two styles of checks (Spanish the default), naming every field
    con = sqlite3.connect(path)
    styles = con.execute(
        "SELECT styleName, styleQML, useAsDefault FROM layer_styles WHERE f_table_name = 'checks' ORDER BY id"
    ).fetchall()
    con.close()
    assert [s[0] for s in styles] == [
        "formulario de campo (es)",
        "field form (en)",
    ]
    assert [s[2] for s in styles] == [1, 0]
    for (_name, qml, _), verdict_label in zip(styles, ("Sin deforestación", "No deforestation")):
        root = ET.fromstring(qml.split("\n", 1)[1])
        fields = {
            f.get("name"): f.find("editWidget").get("type")
            for f in root.iter("field")
            if f.find("editWidget") is not None
        }
        assert set(fields) == set(checks.columns[:-1])
        assert fields["field_verdict"] == fields["land_use_2020"] == fields["shade_trees_removed"] == "ValueMap"
        assert fields["checked_on"] == "DateTime"
        aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
        assert set(aliases) == set(fields) and all(aliases.values())
        values = [o.get("value") for o in root.iter("Option") if o.get("type") == "QString"]
        assert {"no_deforestation", "deforestation", "cannot_tell", "fallow"} <= set(values)
        labels = [o.get("name") for o in root.iter("Option") if o.get("value") == "no_deforestation"]
        assert labels == [verdict_label]
        required = {c.get("field") for c in root.iter("constraint") if c.get("notnull_strength") == "1"}
        assert required == {"field_verdict", "checked_by", "checked_on"}


QGIS_CHECK = """
import sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(sys.argv[1] + "|layername=checks", "checks", "ogr")
assert layer.isValid()
fields = layer.fields()
i = fields.indexOf("field_verdict")
setup = layer.editorWidgetSetup(i)
print(setup.type(), layer.attributeAlias(i), layer.featureCount(), sep="|")
"""


@pytest.mark.skipif(shutil.which("python3") is None, reason="no system python3")
def test_qgis_loads_the_form(tmp_path):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("QGIS's Python bindings (python3-qgis) are not installed")
    _, path = make_pack(tmp_path)
    out = subprocess.run(
        ["/usr/bin/python3", "-c", QGIS_CHECK, str(path)],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    widget, alias, count = out.stdout.strip().splitlines()[-1].split("|")
    assert (widget, alias, count) == ("ValueMap", "Veredicto en campo", "4")


def test_round_trip_pack_forms_import_and_screening_with_reviews(tmp_path):
    screened, path = make_pack(tmp_path)
    before = screened.plots.set_index("plot_id")
    assert before.loc[["A", "B", "C", "E"], "status"].eq("deforestation_detected").all()
    fill(
        path,
        [
            ("A", {"field_verdict": "no_deforestation", "land_use_2020": "cocoa", "checked_by": "J. Ríos",
                   "checked_on": "2026-03-02", "notes": "cocoa under shade since 2010",
                   "photos": "DCIM/a1.jpg;DCIM/a2.jpg"}),
            ("B", {"field_verdict": "no_deforestation", "checked_by": "J. Ríos", "checked_on": "2026-03-02"}),
            ("C", {"field_verdict": "deforestation", "land_use_2020": "forest", "shade_trees_removed": "yes",
                   "checked_by": "M. Soto", "checked_on": "2026-03-03"}),
            ("E", {"field_verdict": "cannot_tell", "checked_by": "M. Soto", "checked_on": "2026-03-03"}),
        ],
    )  # fmt: skip
    checks, pack_plots, meta = read_pack(path)
    forms = check_forms(checks, pack_plots, meta, "pack.gpkg", TODAY)
    assert forms.refused.empty and len(forms.records) == 4
    log = tmp_path / "reviews.gpkg"
    assert append_reviews(log, forms.records, NOW) == (4, 0)
    assert append_reviews(log, forms.records, NOW) == (0, 4)  # the same pack again adds nothing
    reviews = read_reviews(log)
    assert len(reviews) == 4
    a = reviews.set_index("plot_id").loc["A"]
    assert a["photos"] == "a1.jpg;a2.jpg" and a["screening_sha256"] == "f" * 64
    assert a["seen_loss_years"] == "2022" and a["seen_loss_after_ref_ha"] > 0

    settled = screen_plots(plots(), landscape(tmp_path), reviews=reviews).plots.set_index("plot_id")
    assert settled.loc["A", "status"] == "deforestation_free" and bool(settled.loc["A", "deforestation_free"])
    assert settled.loc["A", "status_basis"] == "field_check"
    assert settled.loc["A", "satellite_status"] == "deforestation_detected"
    assert settled.loc["A", "status_reason"] == (
        "field check by J. Ríos on 2026-03-02: cocoa under shade since 2010, no deforestation"
    )
    assert settled.loc["C", "status"] == "deforestation_detected" and settled.loc["C", "status_basis"] == "field_check"
    assert settled.loc["E", "status"] == "review" and settled.loc["E", "status_basis"] == "field_check"
    assert settled.loc["D", "status"] == "deforestation_free" and settled.loc["D", "status_basis"] == "satellite"
    # the baseline counts the plots settled in the field apart; the EUDR manifest says which they are
    from pipeline.config import ExportConfig
    from pipeline.stages.baseline.groups import plot_contributions
    from pipeline.stages.eudr import EudrColumns, eudr_features

    assert plot_contributions(settled, [2022])["n_field_checked"].tolist() == [1, 1, 1, 0, 1]
    export = ExportConfig(format="eudr", out=tmp_path / "eudr")
    _, manifest = eudr_features(settled.reset_index(), export, EudrColumns(None, None, None, "PE"))
    assert manifest.set_index("plot_id")["status_basis"].to_dict() == {
        "A": "field_check", "B": "field_check", "C": "field_check", "D": "satellite", "E": "field_check"
    }  # fmt: skip

    # new loss on B after the check (2024): back to review, saying so
    later = screen_plots(plots(), landscape(tmp_path, extra_loss=True), reviews=reviews).plots.set_index("plot_id")
    assert later.loc["B", "status"] == "review" and later.loc["B", "status_basis"] == "satellite"
    assert later.loc["B", "status_reason"] == (
        "loss in 2024 since the field check by J. Ríos on 2026-03-02, which saw loss in 2022 only: check the plot again"
    )
    assert later.loc["A", "status"] == "deforestation_free"


def test_bad_forms_are_refused_with_their_reason_and_nothing_of_them_imported(tmp_path):
    _, path = make_pack(tmp_path)
    fill(
        path,
        [
            ("A", {"field_verdict": "no_deforestation", "checked_on": "2026-03-02"}),
            ("B", {"field_verdict": "no_deforestation", "checked_by": "J. Ríos"}),
            ("C", {"field_verdict": "no_deforestation", "checked_by": "J. Ríos", "checked_on": "2026-04-01"}),
            ("E", {"field_verdict": "maybe", "checked_by": "J. Ríos", "checked_on": "2026-03-02"}),
            ("ZZ", {"field_verdict": "deforestation", "checked_by": "J. Ríos", "checked_on": "2026-03-02"}),
        ],
    )
    checks, pack_plots, meta = read_pack(path)
    forms = check_forms(checks, pack_plots, meta, "pack.gpkg", TODAY)
    assert forms.records.empty
    reasons = dict(zip(forms.refused["plot_id"], forms.refused["reason"]))
    assert reasons == {
        "A": "no checker: checked_by is empty",
        "B": "no date: checked_on is empty",
        "C": "checked_on 2026-04-01 is in the future",
        "E": "unknown verdict 'maybe'; expected one of no_deforestation, deforestation, cannot_tell",
        "ZZ": "unknown plot id 'ZZ': not a plot of this package",
    }
    log = tmp_path / "reviews.gpkg"
    assert append_reviews(log, forms.records, NOW) == (0, 0)
    assert read_reviews(log).empty


def screened_on_disk(tmp_path, main):
    """The plots (A and B with loss in 2022) as files, screened by the command line: the plots
    file, the raster options and the screening."""
    loss = np.zeros((20, 80), dtype="uint8")
    loss[5:9, 5:9] = 22
    loss[5:7, 20:23] = 22
    lp = write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "treecover2000.tif", np.full(loss.shape, 90, "uint8"), x0=X0, y0=Y0)
    src = tmp_path / "plots.gpkg"
    plots().drop(columns=["source_row"]).to_file(src)
    rasters = ["--loss-year", str(lp), "--tree-cover", str(cp)]
    screening = tmp_path / "screening.gpkg"
    assert main(["-q", "screen", "--plots", str(src), *rasters, "--out", str(screening)]) == 0
    return src, rasters, screening


def test_the_loop_through_the_command_line(tmp_path, capsys):
    from pipeline.cli import main

    src, rasters, screening = screened_on_disk(tmp_path, main)
    pack = tmp_path / "pack.gpkg"
    args = ["field-pack", "--screening", str(screening), "--out", str(pack), "--group-column", "cooperative_id"]
    assert main([*args, "--group", "COOP-01"]) == 0
    assert "Field-check package with 2 plots" in capsys.readouterr().out
    assert main([*args, "--group", "COOP-01"]) == 2  # exists: --overwrite to replace it
    fill(pack, [("A", {"field_verdict": "no_deforestation", "checked_by": "J. Ríos", "checked_on": "2026-03-02"}),
                ("B", {"field_verdict": "deforestation", "checked_by": "J. Ríos"})])  # fmt: skip
    log = tmp_path / "reviews.gpkg"
    assert main(["reviews", "import", str(pack), "--into", str(log)]) == 3  # B is refused
    captured = capsys.readouterr()
    assert "1 review(s) added" in captured.out and "form 2 (plot B): no date: checked_on is empty" in captured.err
    assert main(["reviews", "import", str(pack), "--into", str(log)]) == 3
    assert "0 review(s) added" in capsys.readouterr().out
    out = tmp_path / "settled.gpkg"
    assert main(["-q", "screen", "--plots", str(src), *rasters, "--reviews", str(log), "--out", str(out)]) == 0
    settled = pyogrio.read_dataframe(out, layer="plots").set_index("plot_id")
    assert settled.loc["A", "status"] == "deforestation_free" and settled.loc["A", "status_basis"] == "field_check"
    assert settled.loc["B", "status"] == "deforestation_detected" and settled.loc["B", "status_basis"] == "satellite"


def test_plots_settled_in_the_field_are_counted_apart_in_the_baseline_report_and_export(tmp_path, capsys):
    """A screening with reviews (A free on a field check, B detected on one; C, D on the satellite
    data): the baseline, the report and the EUDR export count the field checks apart."""
    from conftest import cli_main as main

    src, rasters, screening = screened_on_disk(tmp_path, main)
    pack = tmp_path / "pack.gpkg"
    assert main(["-q", "field-pack", "--screening", str(screening), "--out", str(pack)]) == 0
    who = {"checked_by": "J. Ríos", "checked_on": "2026-03-02"}
    fill(pack, [("A", {"field_verdict": "no_deforestation", **who}), ("B", {"field_verdict": "deforestation", **who})])
    log = tmp_path / "reviews.gpkg"
    assert main(["-q", "reviews", "import", str(pack), "--into", str(log)]) == 0
    settled = tmp_path / "settled.gpkg"
    base = tmp_path / "baseline.gpkg"
    assert main(["-q", "screen", "--plots", str(src), *rasters, "--reviews", str(log), "--out", str(settled)]) == 0
    s = pyogrio.read_dataframe(settled, layer="plots", read_geometry=False).set_index("plot_id")
    assert s["status_basis"].to_dict() == {"A": "field_check", "B": "field_check", "C": "satellite",
                                           "D": "satellite", "E": "satellite"}  # fmt: skip
    assert (s["status"] == "deforestation_free").sum() == 4  # A by its field check; C, D, E: no loss
    # the baseline: per group, the plots settled in the field and the free ones among them
    assert main(["-q", "baseline", "--screening", str(settled), "--out", str(base)]) == 0
    groups = pyogrio.read_dataframe(base, layer="baseline_by_group", read_geometry=False).set_index("group")
    assert groups.loc["all", ["n_field_checked", "n_free_field_checked", "n_deforestation_free"]].tolist() == [2, 1, 4]
    assert groups.loc["COOP-01", ["n_field_checked", "n_free_field_checked"]].tolist() == [2, 1]
    assert groups.loc["COOP-02", ["n_field_checked", "n_free_field_checked"]].tolist() == [0, 0]
    # the EUDR export: the manifest names them, totals.csv counts them, the summary says so
    eudr = tmp_path / "eudr"
    capsys.readouterr()
    export = ["export", "--screening", str(settled), "--format", "eudr", "--producer-country", "PE"]
    assert main([*export, "--out", str(eudr)]) == 0
    assert "1 of the exported plots went in on a field check" in capsys.readouterr().out
    manifest = pd.read_csv(eudr / "manifest.csv", keep_default_na=False).set_index("plot_id")
    assert manifest.loc["A", ["outcome", "status_basis"]].tolist() == ["exported", "field_check"]
    totals = pd.read_csv(eudr / "totals.csv", keep_default_na=False)
    assert totals["field_checked"].tolist() == [1, 1] and totals["plots"].tolist() == [4, 4]
    # the report: a column of the plots settled in the field per status, and a sentence on the free ones
    report = tmp_path / "report.html"
    args = ["-q", "report", "--screening", str(settled), "--baseline", str(base), "--eudr", str(eudr)]
    assert main([*args, "--out", str(report)]) == 0
    html = report.read_text(encoding="utf-8")
    assert "Settled by a field check" in html
    assert "1 of the 4 deforestation-free plots rest on a field check" in html
    assert "2 plots in all were settled by a field check" in html
    assert "1 of the exported plots went in on a field check: column status_basis" in html
    # in Spanish too
    informe = tmp_path / "informe.html"
    assert main(["-q", "--lang", "es", *args[1:], "--out", str(informe)]) == 0
    texto = informe.read_text(encoding="utf-8")
    assert "Resueltas por verificación en campo" in texto
    assert "1 de las 4 parcelas libres de deforestación se basan en una verificación en campo" in texto
