"""The HTML report: its numbers equal the GeoPackages', it needs no network, it renders in a
browser, and a large screening's groups go to pages of their own."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from pipeline.cli import main
from pipeline.config import ReportConfig
from pipeline.io.gpkg import read_screening
from pipeline.io.report import render
from pipeline.stages.report import build_report
from pipeline.vocab import STATUSES


class Tables(HTMLParser):
    """Every <table id=...> of a page as rows of cell texts; every src and href."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.sources: list[str] = []
        self._table = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "href" in a:
            self.links.append(a["href"])
        if "src" in a:
            self.sources.append(a["src"])
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id") or f"table-{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Tables:
    t = Tables()
    t.feed(path.read_text(encoding="utf-8"))
    return t


def as_records(rows: list[list[str]]) -> list[dict[str, str]]:
    head, *body = rows
    return [dict(zip(head, r)) for r in body]


def number(text: str) -> float:
    return float("nan") if text in ("–", "") else float(text.replace(",", "").replace("+", ""))


def same(shown: str, value, decimals: int) -> bool:
    """The text shows ``value`` rounded to ``decimals`` (– for a missing value)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return shown == "–"
    return abs(number(shown) - float(value)) <= 0.5 * 10**-decimals + 1e-9


def test_report_numbers_equal_the_geopackages(sample_run):
    page = parse(sample_run.report)
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False)
    plots = plots.sort_values("source_row", ignore_index=True)  # the report lists plots in input order
    groups = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_group", read_geometry=False)
    regions = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_region", read_geometry=False)
    lots = pyogrio.read_dataframe(sample_run.baseline, layer="lots", read_geometry=False)

    by_status = {r["status"]: r for r in as_records(page.tables["by-status"])}
    for s in STATUSES:
        mine = plots[plots["status"] == s]
        assert number(by_status[s]["plots"]) == len(mine)
        assert same(by_status[s]["area (ha)"], mine["area_ha"].sum(), 2)
        assert same(by_status[s]["loss after 2020 (ha)"], mine["loss_after_ref_ha"].sum(), 2)
    assert number(by_status["total"]["plots"]) == len(plots)

    national = groups[groups["group_by"] == "all"].iloc[0]
    yearly = as_records(page.tables["loss-per-year"])
    assert [int(r["year"]) for r in yearly] == list(range(2001, 2025))
    for r in yearly:
        assert same(r["loss (ha)"], national[f"loss_{r['year']}_ha"], 2)

    def check(rows, table, key, id_column):
        shown = {r[key]: r for r in as_records(rows)}
        assert set(shown) == set(table[id_column].astype(str))
        for _, g in table.iterrows():
            r = shown[str(g[id_column])]
            assert number(r["plots"]) == g["n_plots"]
            assert same(r["free plots %"], g["deforestation_free_plots_pct"], 1)
            assert same(r["free area %"], g["deforestation_free_area_pct"], 1)
            assert same(r["area (ha)"], g["area_ha"], 2)
            assert same(r["loss after 2020 (ha)"], g["loss_after_ref_ha"], 2)
            assert same(r["baseline mean 2011-2020 (ha/yr)"], g["baseline_mean_annual_loss_ha"], 2)
            for y in (2021, 2022, 2023, 2024):
                assert same(r[f"{y} vs baseline %"], g[f"change_{y}_vs_baseline_pct"], 1)

    check(page.tables["by-region"], regions, "region", "region_id")
    check(page.tables["by-group"], groups[groups["group_by"] == "cooperative_id"], "cooperative", "group")

    shown_lots = {r["lot_id"]: r for r in as_records(page.tables["lots"])}
    for _, lot in lots.iterrows():
        r = shown_lots[lot["lot_id"]]
        assert number(r["plots"]) == lot["n_plots"] and same(r["quantity"], lot["quantity"], 2)
        assert same(r["from free plots %"], lot["deforestation_free_quantity_pct"], 1)
        assert r["all free"] == ("yes" if lot["deforestation_free"] else "no")

    # the alerts per month (the sample has an alert product): the baseline's national rows
    months = pyogrio.read_dataframe(sample_run.baseline, layer="alerts_by_month", read_geometry=False)
    months = months[months["group_by"] == "all"]
    shown = as_records(page.tables["alerts-per-month"])
    assert [r["month"] for r in shown] == months["month"].astype(str).tolist()
    for r, (_, m) in zip(shown, months.iterrows()):
        assert same(r["alert_ha"], m["alert_ha"], 2) and number(r["n_plots"]) == m["n_plots"]

    # one cooperative's own table: its plots, statuses and losses
    coop = plots[plots["cooperative_id"] == "COOP-03"]
    rows = as_records(page.tables["plots-cooperative-coop-03"])
    assert [r["plot"] for r in rows] == coop["plot_id"].tolist()
    assert [r["status"] for r in rows] == coop["status"].tolist()
    for r, (_, p) in zip(rows, coop.iterrows()):
        assert same(r["loss after 2020 (ha)"], p["loss_after_ref_ha"], 2) and r["reason"] == p["status_reason"]


def test_the_report_shows_region_totals_and_cocoas_share_per_year(sample_run):
    page = parse(sample_run.report)
    groups = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_group", read_geometry=False)
    regions = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_region", read_geometry=False)
    national = groups[groups["group_by"] == "all"].iloc[0]
    rows = {r["region"]: r for r in as_records(page.tables["region-totals"])}
    assert len(rows) == 1 + (regions["region_id"] != "unassigned").sum()  # all regions, then each
    for label, g in [("all regions", national)] + [
        (f"{r['region_id']} {r['region_name']}", r) for _, r in regions[regions["region_id"] != "unassigned"].iterrows()
    ]:
        shown = rows[label]
        assert same(shown["region loss, mean 2011-2020 (ha/yr)"], g["region_baseline_mean_annual_loss_ha"], 2)
        assert same(shown["cocoa share %"], g["cocoa_share_of_baseline_loss_pct"], 1)
        assert same(shown["near cocoa share %"], g["near_cocoa_share_of_baseline_loss_pct"], 1)
        assert same(shown["cocoa share 2024 %"], g["cocoa_share_of_loss_2024_pct"], 1)
    yearly = as_records(page.tables["region-totals-per-year"])
    assert [int(r["year"]) for r in yearly] == list(range(2001, 2025))
    for r in yearly:
        assert same(r["loss in the regions (ha)"], national[f"region_loss_{r['year']}_ha"], 2)
        assert same(r["in cocoa plots %"], national[f"cocoa_share_of_loss_{r['year']}_pct"], 1)
    text = sample_run.report.read_text(encoding="utf-8")
    assert "Deforestation associated with cocoa" in text and "reference year 2020" in text


def test_the_report_needs_no_network(sample_run):
    page = parse(sample_run.report)
    text = sample_run.report.read_text(encoding="utf-8")
    assert page.sources and all(s.startswith("data:image/png;base64,") for s in page.sources)
    # small enough: every group inside; a review or detected plot links to its evidence page, a local file
    folder = sample_run.report.with_name(sample_run.report.stem + "_files")
    evidence = [link for link in page.links if link.startswith(f"{folder.name}/plots/")]
    assert evidence and all((sample_run.report.parent / link).is_file() for link in evidence)
    assert all(link.startswith("#") for link in page.links if link not in evidence)
    assert not re.search(r"<script[^>]+src|<link[^>]+stylesheet|url\(\s*['\"]?https?:", text)
    assert "<h2>Provenance</h2>" in text and "SHA-256" in text


def test_a_large_report_puts_each_group_on_a_page_of_its_own(sample_run, tmp_path):
    out = tmp_path / "report.html"
    args = ["-q", "report", "--screening", str(sample_run.screening), "--baseline", str(sample_run.baseline)]
    assert main([*args, "--out", str(out), "--inline-max-plots", "100"]) == 0
    folder = tmp_path / "report_files"
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 20
    page = parse(out)
    linked = [link for link in page.links if link.startswith("report_files/")]
    groups = [link for link in linked if not link.startswith("report_files/plots/")]  # not the evidence pages
    assert sorted((tmp_path / link).resolve() for link in groups) == [p.resolve() for p in pages]
    assert any(link.startswith("plots/") for link in parse(pages[0]).links)  # a group's plots link to their pages
    sub = parse(pages[0])
    assert "../report.html" in sub.links and sub.sources[0].startswith("data:image/png;base64,")
    assert main([*args, "--out", str(out)]) == 2  # exists
    assert main([*args, "--out", str(out), "--overwrite"]) == 0  # inline again: the groups' pages go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report_files"]
    assert [p.name for p in folder.iterdir()] == ["plots"]  # only the evidence pages stay
    assert main([*args, "--out", str(tmp_path / "report.pdf")]) == 2


def test_a_report_without_baseline_groups_by_cooperative_like_the_baseline(sample_run, tmp_path):
    out = tmp_path / "r.html"
    assert main(["-q", "report", "--screening", str(sample_run.screening), "--out", str(out)]) == 0
    mine = {r["cooperative"]: r for r in as_records(parse(out).tables["by-group"])}
    theirs = {r["cooperative"]: r for r in as_records(parse(sample_run.report).tables["by-group"])}
    assert mine == theirs  # computed from the plots, the same figures as the baseline's
    assert "by-region" not in parse(out).tables


def test_alert_columns_are_shown_when_present(sample_run):
    plots, meta = read_screening(sample_run.screening)
    plots["alert_after_cutoff_ha"] = np.where(plots["status"] == "deforestation_detected", 0.5, 0.0)
    data = build_report(plots, meta, ReportConfig())
    table = data.alerts["Alerts by status (sums over the plots)"].set_index("status")
    n = int((plots["status"] == "deforestation_detected").sum())
    assert table.loc["deforestation_detected", "alert_after_cutoff_ha"] == pytest.approx(0.5 * n)
    index, _ = render(data, separate_pages=False, pages_folder="x_files")
    assert "Alerts by status" in index and "alert_after_cutoff_ha" in index


def test_the_report_renders_in_headless_chromium(sample_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium (Debian: chromium)")
    from PIL import Image

    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            sample_run.report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), done.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (1600, 1200)
    ink = (image < 235).any(axis=2).mean()
    assert ink > 0.05, f"only {ink:.1%} of the page is not white"
    colours = len(np.unique(image.reshape(-1, 3)[::7], axis=0))
    assert colours > 50
    green = ((abs(image[..., 0].astype(int) - 0x1A) < 20) & (abs(image[..., 1].astype(int) - 0x98) < 20)).sum()
    assert green > 100  # the deforestation-free plots are drawn


def test_report_of_a_screening_with_the_wrong_layers_is_refused(tmp_path, capsys):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "x.csv")
    assert main(["report", "--screening", str(tmp_path / "missing.gpkg"), "--out", str(tmp_path / "r.html")]) == 2
    assert "not found" in capsys.readouterr().err
