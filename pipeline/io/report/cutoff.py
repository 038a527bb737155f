"""The report's section on the forest at the cut-off (docs/forest-at-cutoff.md)."""

from __future__ import annotations

from html import escape


def _esc(value) -> str:
    return escape(str(value))


def cutoff_section(data, table) -> list[str]:
    """The report's section on the forest at the cut-off: the plots each case decided, and the
    per-source indicators (``table`` draws an HTML table: :func:`.html.table`)."""
    out: list[str] = []
    if data.cutoff is not None:
        rule = data.facts.get("Forest at the cut-off", "")
        out += [
            "<h2>Forest at the cut-off</h2>",
            f'<p class="note">{_esc(rule)}. Tree loss on land that was not forest on the cut-off day (shade trees, '
            "renovation of cocoa) is not deforestation; loss on forest of that day in a plot the registry says was "
            "already under cocoa goes to review (docs/forest-at-cutoff.md).</p>"
            if rule
            else '<p class="note">A plot the registry says was under cocoa before the cut-off, with tree loss after '
            "it, goes to review: no map of forest at the cut-off was given to tell shade trees from forest.</p>",
            table(
                data.cutoff,
                [
                    ("case", "case", "text"),
                    ("plots", "plots", "int"),
                    ("area_ha", "area (ha)", "ha"),
                    ("loss_after_ref_ha", f"loss after {data.reference_year} (ha)", "ha"),
                ],  # fmt: skip
                table_id="cutoff-cases",
            ),
        ]
    if data.indicators is not None:
        out += [
            "<h3>Indicators per source</h3>",
            table(
                data.indicators,
                [
                    ("indicator", "indicator", "text"),
                    ("yes", "yes", "int"),
                    ("no", "no", "int"),
                    ("unknown", "unknown", "int"),
                ],  # fmt: skip
                table_id="indicators",
            ),
        ]
    return out
