"""The report a cooperative's board acts on: the "what to do now" panel and its plot lists, the
tables by severity with their counts, honest figures (small baselines, low data coverage, regions
without plots), the note without a group column; in headless chromium at a phone's and a
desktop's width: no horizontal scroll, no text under 10 CSS pixels, sorting and filtering."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from pipeline.config import ReportConfig
from pipeline.io.report import read_baseline, read_manifest, render
from pipeline.io.report.texts import STATUS_LABELS
from pipeline.io.screenings import read_screening, read_table
from pipeline.stages.report import build_report
from pipeline.stages.report_actions import by_severity
from tests.test_report import as_records, parse

CODE = {label: s for s, label in STATUS_LABELS.items()}


def test_the_panel_lists_what_to_leave_out_check_and_fix(sample_run):
    text = sample_run.report.read_text(encoding="utf-8")
    page = parse(sample_run.report)
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False)
    panel = re.search(r'<section class="panel" id="actions">(.*?)</section>', text, re.S).group(1)
    assert text.index('id="actions"') < text.index('id="by-status"')  # at the top
    n = plots["status"].value_counts()
    assert f"Leave {n['deforestation_detected']:,} plots out of the due-diligence statement" in panel
    assert f"Check {n['review']:,} plots" in panel and "Next step:" in panel
    assert f"({n['not_assessed']:,} not assessed, {n['invalid']:,} invalid)" in panel
    for name in ("leave-out", "check", "no-verdict"):
        assert f'href="#{name}"' in panel and f'id="{name}"' in text
    for name, statuses in (("leave-out", ["deforestation_detected"]), ("check", ["review"]),
                           ("no-verdict", ["not_assessed", "invalid"])):  # fmt: skip
        rows = as_records(page.tables[f"list-{name}"])
        expected = by_severity(plots[plots["status"].isin(statuses)])
        assert [r["Plot"] for r in rows] == expected["plot_id"].tolist()
        assert {CODE[r["Status"]] for r in rows} == set(statuses)
        assert [r["cooperative"] for r in rows] == expected["cooperative_id"].fillna("").astype(str).tolist()
    # the quality-control findings: one row per code, its plots counted
    issues = read_table(sample_run.screening, "plot_issues")
    qc = {r["Finding"]: r for r in as_records(page.tables["qc-findings"])}
    assert set(qc) == set(issues["code"])
    for code, mine in issues.groupby("code"):
        assert int(qc[code]["Plots"]) == mine["plot_id"].nunique() and qc[code]["Severity"] == mine["severity"].iloc[0]
    assert [r["Severity"] for r in qc.values()][0] == "error"  # errors first
    # the EUDR export's outcome, from its manifest
    manifest = read_manifest(sample_run.exports[0])
    outcome = re.search(r'<p id="export-outcome">(.*?)</p>', text).group(1)
    exported = int(manifest["outcome"].isin(["exported", "repaired"]).sum())
    left = int((manifest["outcome"] == "left_out").sum())
    assert f"The export in eudr: {exported:,} plots in 1 file(s) (eudr-001.geojson); {left:,} plots left out" in outcome
    reasons = {r["Reason"]: int(r["Plots"]) for r in as_records(page.tables["export-left-out"])}
    assert reasons == manifest[manifest["outcome"] == "left_out"]["reason"].value_counts().to_dict()


def test_cooperative_tables_count_statuses_and_sort_by_severity(sample_run):
    text = sample_run.report.read_text(encoding="utf-8")
    page = parse(sample_run.report)
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False)
    coop = plots[plots["cooperative_id"] == "COOP-01"]
    part = text[text.index('<h3 id="cooperative-coop-01">') : text.index('id="plots-cooperative-coop-01"')]
    counts = dict(re.findall(r'<li><span class="st \w+">([^<]+)</span> <b>([\d,]+)</b></li>', part))
    assert {CODE[k]: int(v.replace(",", "")) for k, v in counts.items()} == coop["status"].value_counts().to_dict()
    labels = list(counts)
    assert labels == sorted(labels, key=lambda s: ["deforestation_detected", "review", "not_assessed", "invalid",
                                                   "deforestation_free"].index(CODE[s]))  # fmt: skip
    rows = as_records(page.tables["plots-cooperative-coop-01"])
    assert list(rows[0]) == ["Plot", "Status", "Forest lost after 2020 (ha)", "Alerts that count, gfw_integrated (ha)",
                             "Why this status"]  # fmt: skip
    statuses = [CODE[r["Status"]] for r in rows]
    assert statuses[0] == "deforestation_detected" and statuses[-1] == "deforestation_free"
    assert re.search(r'<table id="plots-cooperative-coop-01" class="sortable"', text)
    assert "<script>" in text and "sortBy" in text  # the inline script, no library


def _without_groups(sample_run, tmp_path):
    plots, meta = read_screening(sample_run.screening)
    plots = plots.drop(columns=["cooperative_id", "cooperative_name"])
    meta = dict(meta)
    return build_report(plots, meta, ReportConfig())


def test_without_a_group_column_the_report_says_why(sample_run, tmp_path):
    data = _without_groups(sample_run, tmp_path)
    assert data.groups is None and data.no_groups
    index, pages = render(data, separate_pages=False, pages_folder="r_files")
    note = re.search(r'<p class="warn" id="no-groups">(.*?)</p>', index).group(1)
    assert "no column cooperative_id" in note and "--group-column" in note


def test_honest_figures_small_baselines_low_coverage_and_regions_without_plots(sample_run):
    plots, meta = read_screening(sample_run.screening)
    layers, bmeta = read_baseline(sample_run.baseline)
    regions = layers["baseline_by_region"]
    empty = pd.concat([regions.iloc[[0]]] * 3, ignore_index=True)
    empty["region_id"], empty["n_plots"] = ["X1", "X2", "X3"], 0
    layers["baseline_by_region"] = pd.concat([regions, empty], ignore_index=True)
    strict = build_report(plots, meta, ReportConfig(), dict(layers), bmeta)
    assert strict.regions_without_plots == 3 and set(strict.regions["region_id"]) == set(regions["region_id"])
    index, _ = render(strict, separate_pages=False, pages_folder="r_files")
    assert "3 other regions of the regions file hold no plot" in index
    assert "X1" not in {r["Region"] for r in as_records(_tables(index)["by-region"])}
    assert 'id="coverage-warning"' in index
    # thresholds from the config: a lower coverage bar and no small baselines
    easy = build_report(plots, meta, ReportConfig(min_coverage_pct=50, min_baseline_ha=0), dict(layers), bmeta)
    index, _ = render(easy, separate_pages=False, pages_folder="r_files")
    assert 'id="coverage-warning"' not in index and "(low coverage)" not in index
    shown = as_records(_tables(index)["by-group"])
    assert not any("baseline too small" in v for r in shown for v in r.values())


def _tables(html: str):
    from tests.test_report import Tables

    t = Tables()
    t.feed(html)
    return t.tables


# --- In a browser ---------------------------------------------------------------------------------

MEASURE = """<script>
window.addEventListener('load', function () {
  var out = {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
  var chart = 1e9;
  document.querySelectorAll('img[data-text-px]').forEach(function (img) {
    var px = img.getBoundingClientRect().width / img.naturalWidth * parseFloat(img.dataset.textPx);
    chart = Math.min(chart, px);
  });
  out.chartTextPx = chart;
  out.charts = document.querySelectorAll('img[data-text-px]').length;
  out.maps = document.querySelectorAll('.map img').length;  // maps carry no text: their words are HTML
  out.others = document.querySelectorAll('img:not([data-text-px])').length - out.maps;
  var text = 1e9, where = '';
  document.querySelectorAll('main *').forEach(function (el) {
    if (!el.getClientRects().length) { return; }
    for (var i = 0; i < el.childNodes.length; i++) {
      var n = el.childNodes[i];
      if (n.nodeType === 3 && n.textContent.trim()) {
        var f = parseFloat(getComputedStyle(el).fontSize);
        if (f < text) { text = f; where = el.tagName + ' ' + n.textContent.trim().slice(0, 30); }
        break;
      }
    }
  });
  out.textPx = text; out.smallestText = where;
  var t = document.getElementById('plots-cooperative-coop-01');
  var col = Array.prototype.findIndex.call(t.tHead.rows[0].cells,
    function (c) { return /Forest lost/.test(c.textContent); });
  function column() { return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
    return parseFloat(r.cells[col].textContent.replace(/,/g, '')); }); }
  t.tHead.rows[0].cells[col].click(); out.ascending = column();
  t.tHead.rows[0].cells[col].click(); out.descending = column();
  var tools = t.closest('.tw').previousElementSibling;
  var review = Array.prototype.find.call(tools.querySelectorAll('button'),
    function (b) { return b.textContent === 'review'; });
  review.click();
  function shown() { return Array.prototype.filter.call(t.tBodies[0].rows, function (r) { return !r.hidden; }); }
  out.reviewShown = shown().map(function (r) { return r.className; });
  var box = tools.querySelector('input'); box.value = 'no-such-plot'; box.dispatchEvent(new Event('input'));
  out.filteredShown = shown().length;
  parent.postMessage(JSON.stringify(out), '*');
});
</script>"""


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        pytest.skip("no chromium (Debian: chromium)")
    return found


def _chromium(browser: str, tmp_path: Path, width: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / f'profile-{width}'}", f"--window-size={width},2400", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


#: The report in a frame of the width to test (headless chromium's window is at least 500 px
#: wide); the frame posts its measures up and the wrapper writes them into its own page.
WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:2400px;border:0;display:block"></iframe>
<script>window.addEventListener('message', function (e) {{
  var pre = document.createElement('pre'); pre.id = 'measure'; pre.textContent = e.data;
  document.body.appendChild(pre); }});</script></body></html>"""


@pytest.mark.parametrize("width", [390, 1366])
def test_the_report_on_a_phone_and_a_desktop(sample_run, tmp_path, width):
    browser = _browser()
    page = tmp_path / "report.html"
    page.write_text(sample_run.report.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"))
    wrapper = tmp_path / "wrapper.html"
    wrapper.write_text(WRAPPER.format(src=page.name, width=width))
    done = _chromium(browser, tmp_path, max(width, 800), "--virtual-time-budget=30000", "--dump-dom", wrapper.as_uri())
    found = re.search(r'<pre id="measure">(.*?)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    m = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert m["innerWidth"] == width
    assert m["scrollWidth"] <= width, f"the page scrolls sideways: {m['scrollWidth']} px wide at {width} px"
    assert m["charts"] >= 3 and m["maps"] >= 21 and m["others"] == 0, m  # every image is one or the other
    assert m["chartTextPx"] >= 10, m
    assert m["textPx"] >= 10, (m["textPx"], m["smallestText"])
    up = [v for v in m["ascending"] if v is not None]  # a plot without figures ("–") sorts as text
    down = [v for v in m["descending"] if v is not None]
    assert len(up) > 10 and up == sorted(up) and down == sorted(down, reverse=True) and up != down
    assert m["reviewShown"] and set(m["reviewShown"]) == {"sr"}
    assert m["filteredShown"] == 0
    # and a screenshot of the page as it is (no script added), in a frame of that width
    from PIL import Image

    wrapper.write_text(WRAPPER.format(src=sample_run.report.as_uri(), width=width))
    shot = tmp_path / f"shot-{width}.png"
    _chromium(browser, tmp_path, max(width, 800), f"--screenshot={shot}", wrapper.as_uri())
    image = np.asarray(Image.open(shot).convert("RGB"))[:, :width]
    assert image.shape[0] == 2400
    assert (image < 235).any(axis=2).mean() > 0.05  # not a blank page
