"""The README stays short, and the links of the README and docs/ resolve.

Checks every relative Markdown link ``[text](target)`` in README.md and docs/*.md: the file it
names exists, and an ``#anchor`` into a Markdown page matches one of that page's headings (GitHub's
slugs). Links in code blocks and code spans are not links; ``http(s)://`` and ``mailto:`` links are
not checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_MAX_BYTES = 10_240

# Pages linked before they exist, relative to the repository root.
MISSING_ALLOWED: set[str] = set()

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:...


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def without_code(text: str) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than - and _ removed, spaces to -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for m in HEADING.finditer(FENCE.sub("", page.read_text(encoding="utf-8"))):
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def links(page: Path) -> list[str]:
    return LINK.findall(without_code(page.read_text(encoding="utf-8")))


def test_slugs_follow_github():
    assert slug("Exit codes") == "exit-codes"
    assert slug("Checking plots without screening: `validate`") == "checking-plots-without-screening-validate"
    assert slug("Baseline, groups, supply chain and monitoring: `baseline.gpkg`") == (
        "baseline-groups-supply-chain-and-monitoring-baselinegpkg"
    )
    assert slug("Reruns: idempotent and incremental") == "reruns-idempotent-and-incremental"
    assert slug("Scale: cores and a Dask cluster") == "scale-cores-and-a-dask-cluster"
    assert slug("snake_case and-hyphen") == "snake_case-and-hyphen"


def test_link_parsing_skips_code():
    text = 'a [x](a.md) `[y](b.md)`\n```sh\n[v](g.md)\n```\n[z](c.md#d "title") ![i](i.png)\n'
    assert LINK.findall(without_code(text)) == ["a.md", "c.md#d", "i.png"]
    assert LINK.findall("[`code`](docs/usage.md#exit-codes)") == ["docs/usage.md#exit-codes"]


def test_the_readme_is_at_most_10_kb():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move details to docs/"


def test_docs_pages_exist():
    names = {p.name for p in DOCS.glob("*.md")}
    assert {
        "usage.md",
        "outputs.md",
        "qc.md",
        "data.md",
        "baseline.md",
        "method.md",
        "scale.md",
        "benchmarks.md",
        "sample.md",
        "development.md",
    } <= names
    assert "README.md" in names or "index.md" in names


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert links(page), f"{page.name}: no links found"
    problems = []
    for target in links(page):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / unquote(path)).resolve() if path else page
        rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if not dest.exists():
            if rel not in MISSING_ALLOWED:
                problems.append(f"{target}: {rel} does not exist")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading of {rel} has the anchor #{anchor}")
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_options_table_is_between_its_markers():
    lines = (DOCS / "usage.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("<!-- options-table:start -->")
    end = lines.index("<!-- options-table:end -->")
    assert start < end and any(line.startswith("|") for line in lines[start + 1 : end])


def test_the_generated_tables_are_in_step_with_the_code():
    from tools.gen_docs import main as gen_docs

    assert gen_docs(["--check"]) == 0, "run `make docs`"


def test_the_readme_sample_summary_is_what_make_run_prints(sample_run, tmp_path, capsys):
    """The README's summary is a real run's (tools/readme_summary.py writes it; `make docs`)."""
    import yaml

    from pipeline.cli import main
    from tools.readme_summary import block, current

    cfg = yaml.safe_load(sample_run.config.read_text(encoding="utf-8"))
    cfg["output"]["path"] = str(tmp_path / "screening.gpkg")
    cfg["baseline"]["output"] = str(tmp_path / "baseline.gpkg")
    cfg["report"]["out"] = str(tmp_path / "report.html")
    for export in cfg["exports"]:
        export["out"] = str(tmp_path / Path(export["out"]).name)
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", "--config", str(job)]) == 0
    shown = current()
    assert shown is not None, "README.md has no sample-summary block"
    assert shown == block(capsys.readouterr().out, tmp_path), "the README's summary is stale: run `make docs`"
    assert "Screened 2003 plots -> outputs/screening.gpkg" in shown
