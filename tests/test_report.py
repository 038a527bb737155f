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
from conftest import cli_main as main

from pipeline.config import ReportConfig
from pipeline.io.report import render
from pipeline.io.report.texts import STATUS_LABELS
from pipeline.io.screenings import read_screening
from pipeline.stages.report import build_report
from pipeline.stages.report_actions import by_severity
from pipeline.vocab import STATUSES

LOSS = "Forest lost after 2020 (ha)"
TOO_SMALL = "baseline too small to compare"


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
            self._end_row()  # HTML's implied end tags: a long table of plots leaves them out
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._end_cell()
            self._cell = []

    def _end_cell(self):
        if self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None

    def _end_row(self):
        self._end_cell()
        if self._row is not None:
            self._table.append(self._row)
            self._row = None

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "tbody", "thead") and self._table is not None:
            self._end_row()
        elif tag == "table":
            if self._table is not None:
                self._end_row()
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

    code = {label: s for s, label in STATUS_LABELS.items()}
    by_status = {code.get(r["Status"], r["Status"]): r for r in as_records(page.tables["by-status"])}
    for s in STATUSES:
        mine = plots[plots["status"] == s]
        assert number(by_status[s]["Plots"]) == len(mine)
        assert same(by_status[s]["Area (ha)"], mine["area_ha"].sum(), 2)
        assert same(by_status[s][LOSS], mine["loss_after_ref_ha"].sum(), 2)
    assert number(by_status["total"]["Plots"]) == len(plots)

    national = groups[groups["group_by"] == "all"].iloc[0]
    yearly = as_records(page.tables["loss-per-year"])
    assert [int(r["Year"]) for r in yearly] == list(range(2001, 2025))
    for r in yearly:
        assert same(r["Forest lost (ha)"], national[f"loss_{r['Year']}_ha"], 2)

    def check(rows, table, key, id_column):
        shown = {r[key]: r for r in as_records(rows)}
        assert set(shown) == set(table[id_column].astype(str))
        for _, g in table.iterrows():
            r = shown[str(g[id_column])]
            assert number(r["Plots"]) == g["n_plots"]
            assert same(r["Deforestation-free plots (%)"], g["deforestation_free_plots_pct"], 1)
            assert same(r["Deforestation-free area (%)"], g["deforestation_free_area_pct"], 1)
            assert same(r["Area (ha)"], g["area_ha"], 2)
            assert same(r[LOSS], g["loss_after_ref_ha"], 2)
            assert same(r["Baseline mean 2011-2020 (ha/yr)"], g["baseline_mean_annual_loss_ha"], 2)
            for y in (2021, 2022, 2023, 2024):
                if g["baseline_mean_annual_loss_ha"] < 1.0:  # report.min_baseline_ha: no percentage
                    assert r[f"{y} against the baseline (%)"] == TOO_SMALL
                else:
                    assert same(r[f"{y} against the baseline (%)"], g[f"change_{y}_vs_baseline_pct"], 1)

    check(page.tables["by-region"], regions[regions["n_plots"] > 0], "Region", "region_id")
    coops = groups[groups["group_by"] == "cooperative_id"]
    assert (coops["baseline_mean_annual_loss_ha"] < 1.0).any()  # the sample has small baselines to hide
    check(page.tables["by-group"], coops, "cooperative", "group")

    shown_lots = {r["Lot"]: r for r in as_records(page.tables["lots"])}
    for _, lot in lots.iterrows():
        r = shown_lots[lot["lot_id"]]
        assert number(r["Plots"]) == lot["n_plots"] and same(r["Quantity"], lot["quantity"], 2)
        assert same(r["From deforestation-free plots (%)"], lot["deforestation_free_quantity_pct"], 1)
        assert r["All deforestation-free"] == ("yes" if lot["deforestation_free"] else "no")

    # the alerts per month (the sample has an alert product): the baseline's national rows
    months = pyogrio.read_dataframe(sample_run.baseline, layer="alerts_by_month", read_geometry=False)
    months = months[months["group_by"] == "all"]
    shown = as_records(page.tables["alerts-per-month"])
    assert [r["month"] for r in shown] == months["month"].astype(str).tolist()
    for r, (_, m) in zip(shown, months.iterrows()):
        assert same(r["alert_ha"], m["alert_ha"], 2) and number(r["n_plots"]) == m["n_plots"]

    # one cooperative's own table: its plots, most severe first, with statuses, losses and reasons
    coop = by_severity(plots[plots["cooperative_id"] == "COOP-03"])
    rows = as_records(page.tables["plots-cooperative-coop-03"])
    assert [r["Plot"] for r in rows] == coop["plot_id"].tolist()
    assert [code[r["Status"]] for r in rows] == coop["status"].tolist()
    for r, (_, p) in zip(rows, coop.iterrows()):
        assert same(r[LOSS], p["loss_after_ref_ha"], 2)
        assert r["Why this status"] == ("" if p["status"] == "deforestation_free" else p["status_reason"])


def test_the_report_shows_region_totals_and_cocoas_share_per_year(sample_run):
    page = parse(sample_run.report)
    groups = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_group", read_geometry=False)
    regions = pyogrio.read_dataframe(sample_run.baseline, layer="baseline_by_region", read_geometry=False)
    national = groups[groups["group_by"] == "all"].iloc[0]
    rows = {r["Region"]: r for r in as_records(page.tables["region-totals"])}
    assert len(rows) == 1 + (regions["region_id"] != "unassigned").sum()  # all regions, then each
    low = " (low coverage)"  # the sample's districts reach beyond its rasters: < 90 % covered
    for label, g in [("all regions", national)] + [
        (f"{r['region_id']} {r['region_name']}", r) for _, r in regions[regions["region_id"] != "unassigned"].iterrows()
    ]:
        shown = rows[label]
        assert same(shown["Region's loss, mean 2011-2020 (ha/yr)"], g["region_baseline_mean_annual_loss_ha"], 2)
        assert g["region_data_coverage_pct"] < 90
        for header, column in (
            ("Cocoa's share (%)", "cocoa_share_of_baseline_loss_pct"),
            ("Near cocoa's share (%)", "near_cocoa_share_of_baseline_loss_pct"),
            ("Cocoa's share in 2024 (%)", "cocoa_share_of_loss_2024_pct"),
        ):
            assert shown[header].endswith(low) and same(shown[header].removesuffix(low), g[column], 1)
    yearly = as_records(page.tables["region-totals-per-year"])
    assert [int(r["Year"]) for r in yearly] == list(range(2001, 2025))
    for r in yearly:
        assert same(r["Forest lost in the regions (ha)"], national[f"region_loss_{r['Year']}_ha"], 2)
        assert same(r["In cocoa plots (%)"], national[f"cocoa_share_of_loss_{r['Year']}_pct"], 1)
    text = sample_run.report.read_text(encoding="utf-8")
    assert "Deforestation associated with cocoa" in text and "reference year 2020" in text
    warning = re.search(r'<p class="warn" id="coverage-warning">(.*?)</p>', text).group(1)
    assert "all regions" in warning and "less than 90 %" in warning


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


@pytest.mark.slow
def test_a_large_report_puts_each_group_on_a_page_of_its_own(sample_run, tmp_path):
    out = tmp_path / "report.html"
    args = ["-q", "report", "--screening", str(sample_run.screening), "--baseline", str(sample_run.baseline)]
    assert main([*args, "--out", str(out), "--inline-max-plots", "100"]) == 0
    folder = tmp_path / "report_files"
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 20 + 3  # the cooperatives, and the panel's three plot lists
    assert (folder / "report.css").is_file() and (folder / "report.js").is_file()  # shared, not in each page
    page = parse(out)
    linked = {link for link in page.links if link.startswith("report_files/")}
    groups = {link for link in linked if not link.startswith("report_files/plots/")}  # not the evidence pages
    assert sorted((tmp_path / link).resolve() for link in groups) == [p.resolve() for p in pages]
    sub = parse(folder / "cooperative-coop-01.html")
    assert any(link.startswith("plots/") for link in sub.links)  # a group's plots link to their pages
    assert "../report.html" in sub.links and sub.sources[0].startswith("data:image/png;base64,")
    text = (folder / "cooperative-coop-01.html").read_text(encoding="utf-8")
    assert '<link rel="stylesheet" href="./report.css">' in text and "font-family" not in text  # not inlined
    assert main([*args, "--out", str(out)]) == 2  # exists
    assert main([*args, "--out", str(out), "--overwrite"]) == 0  # inline again: the groups' pages go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report_files"]
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == ["plots"]  # the evidence pages stay
    assert main([*args, "--out", str(tmp_path / "report.pdf")]) == 2


@pytest.mark.slow
def test_a_report_without_baseline_groups_by_cooperative_like_the_baseline(sample_run, tmp_path):
    out = tmp_path / "r.html"
    assert main(["-q", "report", "--screening", str(sample_run.screening), "--out", str(out)]) == 0
    mine = {r["cooperative"]: r for r in as_records(parse(out).tables["by-group"])}
    assert "EUDR export" in out.read_text(encoding="utf-8")  # none given: the panel says how to add it
    theirs = {r["cooperative"]: r for r in as_records(parse(sample_run.report).tables["by-group"])}
    assert mine == theirs  # computed from the plots, the same figures as the baseline's
    assert "by-region" not in parse(out).tables


@pytest.mark.slow
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
