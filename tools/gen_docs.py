"""Write the generated tables of docs/ from the code, or check that they are in step.

    python tools/gen_docs.py          # rewrite the tables (what `make docs` runs)
    python tools/gen_docs.py --check  # exit 1, naming the pages, when a table is out of step

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in its page:

* ``options-table`` (docs/usage.md): every command-line option and config key, from the config
  models' fields (:func:`pipeline.cli.options.options_table`);
* ``qc-codes`` (docs/qc.md): every quality-control code (:data:`pipeline.stages.qc.ISSUE_CODES`);
* ``qc-settings`` (docs/qc.md): the quality-control options (:func:`pipeline.cli.options.options_table`);
* ``alert-presets``, ``alert-encoding``, ``alert-keys`` (docs/data.md): the alert encodings' presets
  (:data:`pipeline.config.ALERT_PRESETS`) and the keys of an encoding and of an alert dataset, from
  their models.
* ``columns-NAME`` (docs/outputs.md, docs/baseline.md): what each output column means
  (:data:`pipeline.stages.columns.TABLES`, also written into the GeoPackages).
* ``reason-codes`` (docs/outputs.md): every status reason's code and sentence (:data:`pipeline.reasons.REASONS`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.cli.options import QC_OPTIONS, describe, options_table, rows_table  # noqa: E402
from pipeline.config import ALERT_PRESETS, AlertDatasetConfig, AlertEncoding  # noqa: E402
from pipeline.io.tiles import GFW_ALERT_DATASETS  # noqa: E402
from pipeline.reasons import REASONS  # noqa: E402
from pipeline.stages.columns import TABLES, markdown_table  # noqa: E402
from pipeline.stages.qc import ISSUE_CODES  # noqa: E402


def qc_codes_table() -> str:
    lines = ["| code | severity | what happened | what you can do |", "| --- | --- | --- | --- |"]
    for code, c in ISSUE_CODES.items():
        lines.append(f"| `{code}` | {c.severity} | {c.what} | {c.todo} |")
    return "\n".join(lines) + "\n"


def reason_codes_table() -> str:
    lines = ["| `status_reason_code` | the sentence (English; the catalogs translate it) |", "| --- | --- |"]
    for code, text in REASONS.items():
        lines.append(f"| `{code}` | {text.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


def alert_presets_table() -> str:
    lines = [
        "| preset | GFW Data API dataset | leading digit (confidence) | other four digits |",
        "| --- | --- | --- | --- |",
    ]
    for name, enc in ALERT_PRESETS.items():
        levels = ", ".join(f"{code} {level}" for code, level in sorted(enc.levels.items()))
        lines.append(f"| `{name}` | `{GFW_ALERT_DATASETS[name]}` | {levels} | days since {enc.epoch.isoformat()} |")
    return "\n".join(lines) + "\n"


def model_table(model, key: str, skip: tuple[str, ...] = ()) -> str:
    """Key, default and meaning of every field of a config model."""
    lines = [f"| key ({key}) | default | meaning |", "| --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        meaning, default = describe(field)
        if isinstance(field.get_default(call_default_factory=True), AlertEncoding):
            default = "gfw_integrated"
        lines.append(f"| `{name}` | {default.replace('|', chr(92) + '|')} | {meaning.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


REGIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/usage.md", "options-table"): options_table,
    ("docs/qc.md", "qc-codes"): qc_codes_table,
    ("docs/outputs.md", "reason-codes"): reason_codes_table,
    ("docs/qc.md", "qc-settings"): lambda: rows_table(QC_OPTIONS),
    ("docs/data.md", "alert-presets"): alert_presets_table,
    ("docs/data.md", "alert-encoding"): lambda: model_table(AlertEncoding, "`encoding`", skip=("preset",)),
    ("docs/data.md", "alert-keys"): lambda: model_table(AlertDatasetConfig, "`datasets.<name>`"),
    **{
        (page, f"columns-{name}"): (lambda rows=TABLES[name]: markdown_table(rows))
        for page, names in (
            (
                "docs/outputs.md",
                (
                    "plots",
                    "loss_by_year",
                    "loss_patches",
                    "plot_issues",
                    "run_metadata",
                    "alert_product",
                    "alerts_by_month_plots",
                ),
            ),
            (
                "docs/baseline.md",
                (
                    "groups",
                    "region_totals",
                    "baseline_plots",
                    "deliveries",
                    "supply",
                    "status_changes",
                    "alerts_by_month_groups",
                ),
            ),
        )
        for name in names
    },
}


def render(text: str, name: str, table: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"the markers {start} and {end} are missing")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}{end}{tail}"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for (page, name), make in REGIONS.items():
        path = ROOT / page
        text = path.read_text(encoding="utf-8")
        new = render(text, name, make())
        if new != text:
            stale.append(f"{page} ({name})")
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("out of step with the code: " + ", ".join(stale) + "; run `make docs`")
        return 1
    if not check:
        print("updated: " + (", ".join(stale) or "nothing (already in step)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
