"""Why a plot has its status: reasons as a code and its numbers, rendered in any language.

A reason is a list of *parts*; each part is a code of :data:`REASONS` and its parameters
(``{"code": "loss_detected", "loss_ha": 0.27, ...}``). The screening stores the parts as JSON
(``status_reason_params``) beside the first part's code (``status_reason_code``) and the text in
the language of the run (``status_reason``); :func:`render` gives the text again in any language,
so a screening written in English has its report in Spanish without screening again.

**Adding a reason** is one line of :data:`REASONS`: a stable code (never renamed: screenings
store it) and one complete English sentence with named placeholders, marked ``N_`` so that
``make i18n`` extracts it; then its Spanish translation in the catalog
(``pipeline/locale/es/LC_MESSAGES/cacao_screen.po``). Build it with :func:`part` where the
status is decided. Conventions for parameters:

* a number is formatted by the sentence (``{coverage_pct:.1f}``; ``{loss_ha:ha}`` for an area:
  4 decimals below 0.01 ha, else 2) and takes the language's decimal mark;
* a parameter whose name ends in ``_text`` holds an English message id (a QC message, a level
  name): it is translated when rendered, and shown as it is when the catalog lacks it;
* ``product``: a part about one product of several is rendered "``{product}: {reason}``".

This module imports only :mod:`pipeline.i18n`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from string import Formatter

from .i18n import N_, _, fmt, language, using

#: Every reason a status can have: code → English sentence (the message id). Keep codes stable.
REASONS: dict[str, str] = {
    # --- geometry (status invalid) ---
    "geometry_invalid": N_("geometry cannot be screened: {problem_text}"),
    # --- loss products ---
    "no_loss": N_("no forest loss after {reference_year}"),
    "no_loss_no_forest": N_("no forest loss after {reference_year} (no forest in 2000 under the plot)"),
    "no_loss_forest": N_("no forest loss after {reference_year} ({forest_ha:ha} ha of forest in 2000)"),
    "loss_detected": N_(
        "{loss_ha:ha} ha of forest lost after {reference_year}, more than the {review_max_ha:g} ha review tolerance"
    ),
    "loss_review": N_(
        "{loss_ha:ha} ha of forest lost after {reference_year}: no more than {review_max_ha:g} ha, within the "
        "loss product's geolocation uncertainty; check imagery"
    ),
    "first_loss_year": N_("first loss in {year}"),
    "no_data": N_("no valid raster data under the plot"),
    "no_data_nodata": N_("no valid raster data under the plot (no-data pixels)"),
    "partial_coverage": N_("only {coverage_pct:.1f} % of the plot has valid raster data (minimum {min_pct:g} %)"),
    "outside_tiles": N_("{pct:.1f} % lies where no raster tile is (outside the rasters or a missing tile)"),
    "undefined_values": N_(
        "{pct:.1f} % has values the product does not define (e.g. a loss year after its last year: is last_year right?)"
    ),
    "loss_seen_partial": N_("{loss_ha:ha} ha of forest loss after {reference_year} already seen on the covered part"),
    # --- alert products ---
    "alerts_none": N_("no alerts after the cut-off {cutoff}"),
    "alerts_detected": N_(
        "{alert_ha:ha} ha of alerts after the cut-off {cutoff}, more than the {review_max_ha:g} ha review tolerance"
    ),
    "alerts_review": N_(
        "{alert_ha:ha} ha of alerts after the cut-off {cutoff}: no more than the {review_max_ha:g} ha review "
        "tolerance; check imagery"
    ),
    "alerts_level_area": N_("{alert_ha:ha} ha of {level_text}-confidence alerts"),
    "alerts_one_level": N_("all of {level_text} confidence"),
    "alerts_dates": N_("alerts from {first} to {last}"),
    "alerts_date": N_("alerts on {first}"),
    "alerts_counted": N_("alerts of {level_text} confidence or more are counted"),
    "alerts_not_counted": N_(
        "{alert_ha:ha} ha of {level_text}-confidence alerts not counted (min_confidence {min_confidence})"
    ),
    "alerts_history": N_("{alert_ha:ha} ha of alerts up to the cut-off (history)"),
    "alerts_no_data": N_("no valid alert data under the plot"),
    "alerts_no_data_nodata": N_("no valid alert data under the plot (no-data pixels)"),
    "alerts_partial_coverage": N_("only {coverage_pct:.1f} % of the plot has valid alert data (minimum {min_pct:g} %)"),
    "alerts_outside_tiles": N_("{pct:.1f} % lies where no alert tile is (outside the product, a missing tile)"),
    "alerts_undefined_values": N_("{pct:.1f} % has values the alert encoding does not define (is it the right one?)"),
    "alerts_seen_partial": N_("{alert_ha:ha} ha of alerts after the cut-off {cutoff} already seen on the covered part"),
    # --- several products ---
    "product_reason": N_("{product}: {reason}"),
    "product_statuses": N_("statuses by product: {statuses}"),
}

#: The columns a verdict's reason is stored in (the text in the run's language, the code, the parts as JSON).
REASON_COLUMNS = ("status_reason", "status_reason_code", "status_reason_params")

#: Words that parameters ending in ``_text`` may hold (confidence levels...), marked for extraction.
WORDS = (N_("low"), N_("high"), N_("highest"))


def placeholders(text: str) -> set[str]:
    """The named placeholders of a format string (``{loss_ha:ha}`` → ``loss_ha``)."""
    return {name.split(".")[0].split("[")[0] for _lit, name, _spec, _conv in Formatter().parse(text) if name}


def part(code: str, **params) -> dict:
    """One part of a reason: ``code`` (a key of :data:`REASONS`) and its parameters, checked
    against the sentence's placeholders (a missing or unknown one raises :class:`KeyError`)."""
    if code not in REASONS:
        raise KeyError(f"unknown reason code {code!r}: add it to pipeline.reasons.REASONS")
    needed = placeholders(REASONS[code])
    given = set(params) - {"product"}
    if needed != given:
        raise KeyError(f"reason {code!r} takes {sorted(needed)}, was given {sorted(given)}")
    return {"code": code, **{k: _plain(v) for k, v in params.items()}}


def _plain(value):
    """A parameter as JSON keeps it (numpy numbers to Python's)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def render_part(p: dict) -> str:
    """One part in the language in use."""
    code = p.get("code", "")
    if code not in REASONS:  # written by a newer version: say what is stored, not nothing
        return str(code)
    params = {k: (_(v) if k.endswith("_text") and isinstance(v, str) else v) for k, v in p.items()}
    text = fmt(_(REASONS[code]), **params)
    if p.get("product"):
        text = fmt(_(REASONS["product_reason"]), product=p["product"], reason=text)
    return text


def render(parts: Sequence[dict] | str | None, lang: str | None = None) -> str:
    """A reason's text (parts joined by "; "), in ``lang`` (None: the language in use). ``parts``
    may be the stored JSON."""
    if isinstance(parts, str) or parts is None:
        parts = decode(parts)
    with using(lang):
        return _("; ").join(render_part(p) for p in parts) if parts else ""


def encode(parts: Sequence[dict]) -> str:
    """The parts as stored in ``status_reason_params`` (compact JSON, keys in a fixed order)."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def decode(text: str | None) -> list[dict]:
    """The parts of a stored ``status_reason_params`` (empty for NULL or an empty text)."""
    if text is None or not isinstance(text, str) or not text.strip():
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def columns(reasons: Iterable[Sequence[dict]]) -> dict[str, list]:
    """The three stored columns of the reasons of many plots: ``status_reason`` (text in the
    language in use), ``status_reason_code`` (the first part's code) and ``status_reason_params``."""
    texts, codes, params = [], [], []
    lang = language()
    cache: dict[str, str] = {}
    for parts in reasons:
        stored = encode(parts)
        if stored not in cache:  # most plots share a few reasons
            cache[stored] = render(parts, lang)
        texts.append(cache[stored])
        codes.append(parts[0]["code"] if parts else "")
        params.append(stored)
    return {"status_reason": texts, "status_reason_code": codes, "status_reason_params": params}
