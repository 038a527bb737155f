"""The report's section on the forest at the cut-off (docs/forest-at-cutoff.md)."""

from __future__ import annotations

from html import escape

from .texts import CUTOFF_CASES, HEADERS, T


def _esc(value) -> str:
    return escape(str(value))


def _case(code: str, year: int) -> str:
    """A case of the forest at the cut-off in words (a code the texts do not know is shown as it is)."""
    return CUTOFF_CASES[code].format(year=year) if code in CUTOFF_CASES else code


def cutoff_section(data, table) -> list[str]:
    """The report's section on the forest at the cut-off: the plots each case decided, and the
    per-source indicators (``table`` draws an HTML table: :func:`.html.table`)."""
    out: list[str] = []
    if data.cutoff is not None:
        rule = data.forest_rule
        cases = data.cutoff.assign(case=[_case(str(c), data.reference_year) for c in data.cutoff["case"]])
        out += [
            f"<h2>{_esc(T['cutoff_title'])}</h2>",
            f'<p class="note">{_esc(T["cutoff_note"].format(rule=rule) if rule else T["cutoff_no_map"])}</p>',
            table(
                cases,
                [
                    ("case", HEADERS["case"], "text"),
                    ("plots", HEADERS["plots"], "int"),
                    ("area_ha", HEADERS["area_ha"], "ha"),
                    ("loss_after_ref_ha", HEADERS["loss_after_ref_ha"].format(year=data.reference_year), "ha"),
                ],  # fmt: skip
                table_id="cutoff-cases",
            ),
        ]
    if data.indicators is not None:
        out += [
            f"<h3>{_esc(T['indicators_title'])}</h3>",
            table(
                data.indicators,
                [
                    ("indicator", HEADERS["indicator"], "text"),
                    ("yes", HEADERS["yes"], "int"),
                    ("no", HEADERS["no"], "int"),
                    ("unknown", HEADERS["unknown"], "int"),
                ],  # fmt: skip
                table_id="indicators",
            ),
        ]
    return out
