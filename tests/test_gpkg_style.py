"""Self-describing GeoPackages: field descriptions in the docs' words, default QGIS styles,
provenance with checksums, column types, empty geometries, and GDAL's GeoPackage validator."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from pipeline.io.gpkg_style import DEFAULT_STYLES, read_provenance, status_style
from pipeline.io.provenance import CACHE_MIN_BYTES, DigestCache
from pipeline.stages.columns import TABLES, describe, plain
from pipeline.vocab import STATUSES

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"


def _declared(path: Path) -> dict[tuple[str, str], str]:
    con = sqlite3.connect(path)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM gpkg_contents"):
            for _, name, typ, *_ in con.execute(f'PRAGMA table_info("{table}")'):
                out[(table, name)] = typ
        return out
    finally:
        con.close()


def test_every_output_column_is_described_in_the_words_of_the_docs(sample_run):
    docs = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8") + (ROOT / "docs" / "baseline.md").read_text(
        encoding="utf-8"
    )
    for path in (sample_run.screening, sample_run.baseline):
        con = sqlite3.connect(path)
        described = {
            (t, c): d for t, c, d in con.execute("SELECT table_name, column_name, description FROM gpkg_data_columns")
        }
        con.close()
        for table, column in _declared(path):
            if table == "layer_styles" or column in ("fid", "geom"):
                continue
            assert described.get((table, column)), f"{path.name}: {table}.{column} has no description"
        # the docs hold the same words as the file
        for (table, column), text in described.items():
            generic = ("an attribute of the input file", "a column of the deliveries file", "the plot's group in")
            if not text.startswith(generic):
                product = re.match(r"^(\w+)(?: alone)?: ", text)
                if product and column.startswith(product.group(1) + "_"):
                    text = text[product.end() :]  # a product's own column: the column's words
                    column = column[len(product.group(1)) + 1 :]
                rows = [r for rows in TABLES.values() for r in rows if r.matches(column) and plain(r.meaning) == text]
                assert rows and rows[0].meaning in docs, (table, column)
    con = sqlite3.connect(sample_run.screening)
    status = con.execute(
        "SELECT constraint_name FROM gpkg_data_columns WHERE table_name = 'plots' AND column_name = 'status'"
    ).fetchone()[0]
    values = [
        v for (v,) in con.execute("SELECT value FROM gpkg_data_column_constraints WHERE constraint_name = ?", (status,))
    ]
    con.close()
    assert sorted(values) == sorted(STATUSES)


def test_product_columns_are_described_as_the_products_own():
    assert describe("plots", "tmf_loss_after_ref_ha", ("hansen", "tmf")) == "tmf alone: " + describe(
        "plots", "loss_after_ref_ha"
    )
    assert describe("plots", "loss_2023_ha") == "Σ fraction × pixel area over forest pixels whose loss year is YYYY"
    assert describe("lots", "quantity_unknown", file="baseline").startswith("Σ quantity from plots of that status")
    assert describe("plots", "gfw_integrated_alert_high_ha", ("hansen", "gfw_integrated")).startswith(
        "gfw_integrated: area of every alert after the cut-off day, by confidence"
    )
    assert describe("alerts_by_month", "n_plots", file="baseline") == "plots with alerts that count that month"
    assert describe("plots", "nothing_like_it") is None


def test_types_dates_integers_booleans(sample_run):
    s, b = _declared(sample_run.screening), _declared(sample_run.baseline)
    assert s[("plots", "deforestation_free")] == "BOOLEAN"
    assert s[("plots", "first_loss_year_after_ref")] == s[("plots", "source_row")] == "INTEGER"
    assert s[("loss_by_year", "year")] == "INTEGER"
    assert b[("deliveries", "date")] == b[("lots", "first_date")] == b[("buyers", "last_date")] == "DATE"
    assert b[("lots", "deforestation_free")] == b[("lots", "contains_invalid")] == "BOOLEAN"
    assert b[("baseline_by_group", "n_plots")] == b[("lots", "n_deliveries")] == "INTEGER"
    lots = pyogrio.read_dataframe(sample_run.baseline, layer="lots")
    assert str(lots["first_date"].dropna().iloc[0]).startswith("2025-")


def test_empty_geometries_are_stored_as_null_and_the_spatial_index_still_matches(sample_run):
    con = sqlite3.connect(sample_run.screening)
    nulls = con.execute("SELECT source_row, status FROM plots WHERE geom IS NULL").fetchall()
    indexed = con.execute("SELECT count(*) FROM rtree_plots_geom").fetchone()[0]
    with_geometry = con.execute("SELECT count(*) FROM plots WHERE geom IS NOT NULL").fetchone()[0]
    con.close()
    assert nulls == [(2001, "invalid")]  # the sample's empty row, and only it
    assert indexed == with_geometry == 2002
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots")
    assert "empty" in plots.loc[plots["source_row"] == 2001, "status_reason"].iloc[0].lower()


def test_default_styles_are_stored_for_qgis(sample_run):
    con = sqlite3.connect(sample_run.baseline)
    rows = con.execute(
        "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault FROM layer_styles"
    ).fetchall()
    registered = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
    con.close()
    assert registered == ("attributes",)  # GDAL, and so QGIS, opens only registered tables
    drawn = {r[0] for r in rows if r[1]}
    assert drawn == {"baseline_plots", "baseline_by_region", "restoration_rings"}
    # the attribute tables get a style of their field aliases alone
    assert {r[0] for r in rows if not r[1]} >= {"baseline_by_group", "lots", "buyers"}
    for table, geom, qml, sld, default in rows:
        assert default == 1
        root = ET.fromstring(qml.split("\n", 1)[1])  # well-formed (after the DOCTYPE line)
        assert root.find("aliases") is not None, table
        if table in drawn:
            assert geom == "geom"
            ET.fromstring(sld.encode())
    qml = status_style().qml()
    for s in STATUSES:
        assert f'value="{s}"' in qml
    assert 'name="style" value="no"' in qml and 'name="outline_style" value="dash"' in qml  # invalid: outlined
    assert set(DEFAULT_STYLES) >= {"plots", "baseline_by_region", "restoration_rings"}


def test_provenance_has_the_command_times_config_and_checksummed_inputs(sample_run):
    doc = read_provenance(sample_run.screening)
    assert doc["command"].startswith("cacao-screen -q run --config ")
    assert doc["started_utc"] <= doc["finished_utc"]
    assert doc["config"]["screening"]["reference_year"] == 2020
    assert doc["inputs_relative_to"] == "the config file's folder"
    by_role = {r["role"]: r for r in doc["inputs"]}
    plots = by_role["plots"]
    assert plots["path"] == os.path.relpath(sample_run.paths.plots, sample_run.config.parent)
    assert plots["sha256"] == hashlib.sha256(sample_run.paths.plots.read_bytes()).hexdigest()
    assert plots["size"] == sample_run.paths.plots.stat().st_size
    assert "hansen loss" in by_role and "config" in by_role
    assert doc["product_versions"].startswith("hansen: synthetic")
    base = read_provenance(sample_run.baseline)
    roles = {r["role"] for r in base["inputs"]}
    assert {"screening", "regions", "deliveries"} <= roles


def test_big_files_are_hashed_once_then_taken_from_the_cache(tmp_path):
    big = tmp_path / "big.tif"
    big.write_bytes(os.urandom(CACHE_MIN_BYTES + 10))
    cache_file = tmp_path / "cache" / "sha256.json"
    first = DigestCache(cache_file)
    digest = first.digest(big)
    first.save()
    assert first.hashed == 1 and digest == hashlib.sha256(big.read_bytes()).hexdigest()
    again = DigestCache(cache_file)
    assert again.digest(big) == digest and again.hashed == 0  # size and mtime unchanged: not read
    st = big.stat()
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert again.digest(big) == digest and again.hashed == 1  # touched: read again
    cache_file.write_text("not json")
    assert DigestCache(cache_file).digest(big) == digest  # a broken cache only costs a hash


def _validator() -> list[str] | None:
    for name in ("validate_gpkg", "validate_gpkg.py"):
        found = shutil.which(name)
        if found:
            return [found]
    if Path(SYSTEM_PYTHON).exists():
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import osgeo_utils.samples.validate_gpkg"], capture_output=True, text=True
        )
        if probe.returncode == 0:
            return [SYSTEM_PYTHON, "-m", "osgeo_utils.samples.validate_gpkg"]
    return None


@pytest.mark.parametrize("which", ["screening", "baseline"])
def test_gdal_geopackage_validator_passes(sample_run, which):
    cmd = _validator()
    if cmd is None:
        pytest.skip("GDAL's validate_gpkg is not installed (Debian: python3-gdal)")
    path = getattr(sample_run, which)
    done = subprocess.run([*cmd, "-k", str(path)], capture_output=True, text=True)
    messages = [m for m in done.stdout.splitlines() + done.stderr.splitlines() if m.strip()]
    assert done.returncode == 0 and not messages, "\n".join(messages)


GDAL_OPEN = """
import sys
from osgeo import gdal, ogr
gdal.UseExceptions()
messages = []
gdal.PushErrorHandler(lambda level, no, msg: messages.append(msg))
ds = ogr.Open(sys.argv[1])
names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
print(gdal.__version__, len(names), "|".join(messages) or "-")
"""


@pytest.mark.parametrize("which", ["screening", "baseline"])
def test_an_older_gdal_opens_the_geopackages_without_a_version_warning(sample_run, which):
    """GDAL 3.6 (Debian 12, QGIS 3.22's) warns that GeoPackage 1.4 "may only be partially
    supported": the files are 1.2, which every GDAL since 2.2 reads."""
    path = getattr(sample_run, which)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
    con.close()
    if (
        not Path(SYSTEM_PYTHON).exists()
        or subprocess.run([SYSTEM_PYTHON, "-c", "import osgeo"], capture_output=True).returncode
    ):
        pytest.skip("GDAL's Python bindings are not installed for the system Python (Debian: python3-gdal)")
    done = subprocess.run([SYSTEM_PYTHON, "-c", GDAL_OPEN, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version, n_layers, messages = done.stdout.strip().split(" ", 2)
    assert int(n_layers) >= 2
    assert "partially supported" not in messages + done.stderr, (version, messages)


@pytest.mark.parametrize("which", ["screening", "baseline"])
def test_extensions_once_layers_described_fields_titled_style_names_short(sample_run, which):
    path = getattr(sample_run, which)
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT table_name, column_name, extension_name FROM gpkg_extensions").fetchall()
        assert len(rows) == len(set(rows)), f"repeated rows in gpkg_extensions: {sorted(rows)}"
        assert ("gpkg_metadata", None, "gpkg_metadata") in rows
        empty = con.execute(
            "SELECT table_name FROM gpkg_contents WHERE description IS NULL OR description = ''"
        ).fetchall()
        assert not empty, f"layers without a description: {empty}"
        untitled = con.execute(
            "SELECT table_name, column_name FROM gpkg_data_columns WHERE title IS NULL OR title = ''"
        ).fetchall()
        assert not untitled
        titles = {(t, c): v for t, c, v in con.execute("SELECT table_name, column_name, title FROM gpkg_data_columns")}
        names = [n for (n,) in con.execute("SELECT styleName FROM layer_styles")]
    finally:
        con.close()
    assert names and all(len(n) <= 30 for n in names), names
    if which == "screening":
        assert titles[("plots", "loss_after_ref_ha")] == "Forest lost after the reference year (ha)"
        assert titles[("plots", "loss_2021_ha")] == "Forest lost in 2021 (ha)"
        assert titles[("plots", "status_reason")] == "Why this status"
    else:
        assert titles[("baseline_by_group", "n_review")] == "Plots to review"


QGIS_CHECK = """
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for path, layer in json.loads(sys.argv[1]):
    vl = QgsVectorLayer(f"{path}|layername={layer}", layer, "ogr")
    r = vl.renderer()
    item = {"valid": vl.isValid(), "type": r.type() if r is not None else None}
    if item["type"] == "categorizedSymbol":
        item["field"] = r.classAttribute()
        item["classes"] = {c.value(): c.symbol().color().name() for c in r.categories()}
    if item["type"] == "graduatedSymbol":
        item["field"] = r.classAttribute()
        item["classes"] = [[g.lowerValue(), g.upperValue()] for g in r.ranges()]
    item["aliases"] = {f.name(): vl.attributeAlias(i) for i, f in enumerate(vl.fields()) if vl.attributeAlias(i)}
    out[layer] = item
print(json.dumps(out), flush=True)
import os
os._exit(0)  # QGIS may crash while tearing down in a headless process; the answer is out
"""


def test_qgis_applies_the_default_styles(sample_run):
    if (
        not Path(SYSTEM_PYTHON).exists()
        or subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode
    ):
        pytest.skip("QGIS's Python bindings are not installed (Debian: python3-qgis)")
    layers = [
        [str(sample_run.screening), "plots"],
        [str(sample_run.baseline), "baseline_by_region"],
        [str(sample_run.baseline), "restoration_rings"],
        [str(sample_run.baseline), "baseline_by_group"],
    ]
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_CHECK, json.dumps(layers)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["plots"]["type"] == "categorizedSymbol" and seen["plots"]["field"] == "status"
    assert seen["plots"]["classes"]["deforestation_free"] == "#1a9850"
    assert seen["plots"]["classes"]["deforestation_detected"] == "#d73027"
    assert seen["baseline_by_region"]["type"] == "graduatedSymbol"
    assert seen["baseline_by_region"]["field"] == "deforestation_free_area_pct"
    assert seen["baseline_by_region"]["classes"][0] == [0, 50]
    assert seen["restoration_rings"]["type"] == "singleSymbol"
    # plain-language field names (aliases), from the default styles, on QGIS 3.22 with GDAL 3.6 too
    assert seen["plots"]["aliases"]["loss_after_ref_ha"] == "Forest lost after the reference year (ha)"
    assert seen["baseline_by_region"]["aliases"]["deforestation_free_area_pct"] == "Deforestation-free area (%)"
    assert seen["baseline_by_group"]["aliases"]["n_plots"] == "Plots"
