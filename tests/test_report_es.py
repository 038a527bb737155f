"""The report in Spanish: an English screening's report rendered again with ``--lang es`` has the
same figures, no English sentence left (codes, product and column names aside), and draws in
headless chromium."""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from babel.messages.pofile import read_po
from test_cli import small_job  # noqa: F401  (a fixture)

from pipeline.cli import main
from pipeline.i18n import _, using

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import i18n as catalogs  # noqa: E402  (tools/i18n.py)

WORD = re.compile(r"[A-Za-zÁÉÍÓÚÑÜáéíóúñü]+")
PLACEHOLDER = re.compile(r"\{[^}]*\}")

#: Words no Spanish sentence of ours has, which any English sentence has: an English word of one
#: of these in the Spanish report is a sentence left untranslated, even one not in the catalog.
FUNCTION_WORDS = set(
    "the of and to in is are was were for with from by on at or as be this that these those it its their "
    "each every all any than then when which who what where why how not no none only also more most less "
    "after before above below over under into out up down per yes".split()
)

#: Words the Spanish report may show in English: product and file-format names, units, proper names.
ALLOWED = {
    "hansen",
    "gfw",
    "eudr",
    "geopackage",
    "qgis",
    "csv",
    "json",
    "geojson",
    "html",
    "kml",
    "utc",
    "sha",
    "ha",
    "id",
    "ids",
    "no",  # Spanish "no" too
    # column names heading the alerts tables (and <overlay>_overlap_ha), the grouping column's
    # name ("By cooperative", from cooperative_id), the sample's buyer "Cacao Trading Example BV"
    "product",
    "month",
    "overlay",
    "cooperative",
    "example",
}


def reader_text(page: str, *, english_screening: bool = True) -> str:
    """The page as a reader sees it, less what is shown as stored: the run's metadata (``<dl>``:
    the product versions, the command, the inputs) and, for a screening written in English, the
    quality-control findings' own words (the ``Example`` column of the findings table: quality
    control writes them in the screening's language, and they are shown as written)."""
    page = re.sub(r"(?is)<dl\b.*?</dl>", " ", page)
    with using("es"):
        provenance = html_lib.escape(_("Provenance"))
    page = re.sub(rf"(?is)<h2>{re.escape(provenance)}</h2>.*?</main>", " ", page)  # the inputs' roles and files
    if english_screening:
        page = re.sub(r'(?is)(<table id="qc-findings".*?</table>)', lambda m: _drop_last_column(m.group(1)), page)
    return page


def _drop_last_column(table: str) -> str:
    return re.sub(r"(?is)<td>(?:(?!<td>|</tr>).)*(</tr>)", r"\1", table)


def words_of(text: str) -> set[str]:
    """The words of a text, leaving out tokens that are codes, column names, options, paths or
    numbers (``not_assessed``, ``--review-max-ha``, ``a.gpkg``, ``2020``)."""
    out: set[str] = set()
    for token in text.split():
        bare = token.strip(".,;:()[]«»\"'`")
        if any(c in bare for c in "_/.@<>`") or bare.startswith("-") or any(c.isdigit() for c in bare):
            continue
        out |= {w.lower() for w in WORD.findall(bare)}
    return out


def visible_words(page: str) -> set[str]:
    """The words a reader sees: no scripts, styles, attributes or code."""
    page = re.sub(r"(?is)<(script|style|pre|code)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return words_of(html_lib.unescape(page))


def catalog_words() -> tuple[set[str], set[str]]:
    """The words of the English message ids, and of their Spanish translations (placeholders out)."""
    english, spanish = set(), set()
    with open(catalogs.po_path("es"), "rb") as f:
        for m in read_po(f):
            if not m.id:
                continue
            for text in m.id if isinstance(m.id, tuple) else (m.id,):
                english |= words_of(PLACEHOLDER.sub(" ", text))
            for text in m.string if isinstance(m.string, tuple) else (m.string,):
                spanish |= words_of(PLACEHOLDER.sub(" ", text or ""))
    return english, spanish


@pytest.fixture(scope="module")
def reports(sample_run, tmp_path_factory):
    """The sample's report rendered from its (English) screening by `report`, in English and with
    `--lang es`: (English page, Spanish page, Spanish file)."""
    folder = tmp_path_factory.mktemp("report-es")
    args = ["report", "--screening", str(sample_run.screening), "--baseline", str(sample_run.baseline)]
    assert main(["--lang", "en", *args, "--out", str(folder / "report.html")]) == 0
    assert main(["--lang", "es", *args, "--out", str(folder / "informe.html")]) == 0
    english = (folder / "report.html").read_text(encoding="utf-8")
    return english, (folder / "informe.html").read_text(encoding="utf-8"), folder / "informe.html"


def test_no_english_sentence_is_left_in_the_spanish_report(reports):
    english_page, spanish_page, _ = reports
    english, spanish = catalog_words()
    suspects = (english | FUNCTION_WORDS) - spanish - ALLOWED
    left = sorted(visible_words(reader_text(spanish_page)) & suspects)
    assert not left, f"English words in the Spanish report: {left}"
    assert '<html lang="es"' in spanish_page
    assert "libre de deforestación" in spanish_page and "deforestación detectada" in spanish_page


def test_a_spanish_screening_has_its_quality_control_findings_in_spanish(small_job, tmp_path):  # noqa: F811
    """Screened with --lang es, the findings of quality control (plot_issues, the report's findings
    table with its examples, an invalid plot's reason) are Spanish: no English word is left."""
    from test_cli import screen_args

    assert main(["--lang", "es", *screen_args(small_job)]) == 0
    issues = pyogrio.read_dataframe(small_job["out"], layer="plot_issues")
    said = dict(zip(issues["code"], issues["message"]))  # codes stay as they are
    assert said["geometry_repaired"].startswith("polígono inválido (Autointersección[")
    assert said["duplicate_id"].startswith("el plot_id 'dup' se usa también en la(s) fila(s) ")
    assert said["empty_geometry"] == "la fila no tiene geometría o tiene una vacía"
    plots = pyogrio.read_dataframe(small_job["out"], layer="plots", read_geometry=False)
    invalid = plots.loc[plots["plot_id"] == "empty", "status_reason"].iloc[0]
    assert invalid == "la geometría no se puede evaluar: la fila no tiene geometría o tiene una vacía"
    page_path = tmp_path / "informe.html"
    assert main(["--lang", "es", "report", "--screening", str(small_job["out"]), "--out", str(page_path)]) == 0
    page = page_path.read_text(encoding="utf-8")
    findings = re.search(r'(?is)<table id="qc-findings".*?</table>', page).group(0)
    assert "se usa también en la(s) fila(s)" in findings and "calculadas" in findings  # the examples
    english, spanish = catalog_words()
    plot_ids = {"detected", "review", "free", "nodata", "edge", "bowtie", "empty", "dup"}  # the job's, shown as given
    suspects = (english | FUNCTION_WORDS) - spanish - ALLOWED - plot_ids
    left = sorted(visible_words(reader_text(page, english_screening=False)) & suspects)
    assert not left, f"English words in the Spanish report of a Spanish screening: {left}"


def test_the_spanish_report_has_the_figures_of_the_english_one(reports):
    english_page, spanish_page, _ = reports

    def figures(page: str) -> list[str]:
        text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
        text = re.sub(r"(?s)<[^>]+>", " ", text)
        numbers = re.findall(r"\d[\d\u00a0.,]*\d|\d", html_lib.unescape(text))
        return sorted(re.sub(r"[\u00a0.,]", "", n) for n in numbers)  # the digits, whatever the separators

    assert figures(english_page) == figures(spanish_page)


def test_the_spanish_report_renders_in_headless_chromium(reports, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium (Debian: chromium)")
    from PIL import Image

    _, _, page = reports
    shot = tmp_path / "informe.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), done.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (1600, 1200)
    assert (image < 235).any(axis=2).mean() > 0.05  # drawn, not a blank page
    green = ((abs(image[..., 0].astype(int) - 0x1A) < 20) & (abs(image[..., 1].astype(int) - 0x98) < 20)).sum()
    assert green > 100  # the deforestation-free plots
