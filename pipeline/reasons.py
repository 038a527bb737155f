"""Why a plot has its status: reasons as a code and its numbers, rendered in any language.

A reason is a list of *parts*; each part is a code of :data:`REASONS` and its parameters
(``{"code": "loss_detected", "loss_ha": 0.27, ...}``). The screening stores the parts as JSON
(``status_reason_params``) beside the first part's code (``status_reason_code``) and the text in
the language of the run (``status_reason``); :func:`render` gives the text again in any language,
so a screening written in English has its report in Spanish without screening again.

**Adding a reason** is one line of :data:`REASONS`: a stable code (never renamed: screenings
store it) and one complete English sentence with named placeholders, marked ``N_`` so that
``make i18n`` extracts it; then its Spanish translation in the catalog
(``pipeline/locale/es/LC_MESSAGES/cacao_screen.po``; ``make i18n`` adds the id). Build it where
the status is decided: :class:`Batch` for the reasons of many plots (``add`` gives a group of
plots the same parts, their numbers as arrays; ``add_each`` one plot its own parts, made with
:func:`part`), then ``Batch.columns()`` gives the three stored columns (see
``pipeline.stages.rules.classify``). Conventions for parameters:

* a number is formatted by the sentence (``{coverage_pct:.1f}``; ``{loss_ha:ha}`` for an area:
  4 decimals below 0.01 ha, else 2) and takes the language's decimal mark;
* a parameter whose name ends in ``_text`` holds an English message id (a QC message, a level
  name): it is translated when rendered, and shown as it is when the catalog lacks it;
* ``product``: a part about one product of several is rendered "``{product}: {reason}``".

This module imports only :mod:`pipeline.i18n`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import repeat
from string import Formatter
from typing import Any

import numpy as np

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
    # --- forest at the cut-off (pipeline.stages.cutoff; docs/forest-at-cutoff.md) ---
    "cutoff_free_established": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was not forest in {cutoff} according to {sources} "
        "(cocoa since {since}): shade trees or renovation, not deforestation"
    ),
    "cutoff_free": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was not forest in {cutoff} according to {sources}: "
        "not deforestation"
    ),
    "cutoff_disagree": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was forest in {cutoff} according to {sources}, but the "
        "registry says cocoa since {since}: the map and the declaration disagree (shaded cocoa mapped as forest?); "
        "check imagery or on the ground"
    ),
    "cutoff_no_map_established": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land with tree cover in 2000, but the registry says cocoa since "
        "{since}: without a map of forest at the cut-off, shade-tree loss on a plot already under cocoa cannot be "
        "told from deforestation; add a forest_cover product or check imagery"
    ),
    "cutoff_detected": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was forest in {cutoff} according to {sources}, more "
        "than the {review_max_ha:g} ha review tolerance"
    ),
    "cutoff_detected_unknown": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was forest in {cutoff} according to {sources} or where "
        "they have no data ({unknown_ha:ha} ha), more than the {review_max_ha:g} ha review tolerance"
    ),
    "cutoff_review": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was forest in {cutoff} according to {sources}: no more "
        "than {review_max_ha:g} ha, within the products' uncertainty; check imagery"
    ),
    "cutoff_review_unknown": N_(
        "{loss_ha:ha} ha of tree loss in {year} on land that was forest in {cutoff} according to {sources} or where "
        "they have no data ({unknown_ha:ha} ha): no more than {review_max_ha:g} ha, within the products' "
        "uncertainty; check imagery"
    ),
    "cutoff_alerts_disagree": N_(
        "{alert_ha:ha} ha of alerts after {cutoff} on land that was forest then according to {sources}, but the "
        "registry says cocoa since {since}: the map and the declaration disagree (shaded cocoa mapped as forest?); "
        "check imagery or on the ground"
    ),
    "cutoff_alerts_no_map_established": N_(
        "{alert_ha:ha} ha of alerts after {cutoff}, but the registry says cocoa since {since}: without a map of "
        "forest at the cut-off, shade-tree loss on a plot already under cocoa cannot be told from deforestation; "
        "add a forest_cover product or check imagery"
    ),
    # --- loss patches (added to a reason) ---
    "edge_only_loss": N_("all loss within {buffer_m:g} m of the boundary: check the boundary before the forest"),
    # --- field checks (a screening with reviews) ---
    "field_no_deforestation": N_("field check by {checker} on {date}: no deforestation"),
    "field_no_deforestation_notes": N_("field check by {checker} on {date}: {notes}, no deforestation"),
    "field_deforestation": N_("field check by {checker} on {date}: deforestation"),
    "field_deforestation_notes": N_("field check by {checker} on {date}: {notes}, deforestation"),
    "field_cannot_tell": N_("field check by {checker} on {date}: cannot tell, the plot stays in review"),
    "field_cannot_tell_notes": N_("field check by {checker} on {date}: {notes}, cannot tell, the plot stays in review"),
    "field_new_years": N_(
        "loss in {years} since the field check by {checker} on {date}, which saw loss in {seen} only: "
        "check the plot again"
    ),
    "field_new_years_none_seen": N_(
        "loss in {years} since the field check by {checker} on {date}, which saw no loss: check the plot again"
    ),
    "field_more_loss": N_(
        "more loss since the field check by {checker} on {date}: {now_ha:.4f} ha after the reference year now, "
        "{seen_ha:.4f} ha then: check the plot again"
    ),
    # --- overlays (what lies under the plot: pipeline.stages.overlays) ---
    "overlay_review": N_(
        "{overlap_ha:ha} ha ({overlap_pct:.1f} %) inside {kind_text} {names} (overlay {overlay}): a person must "
        "check the plot's legality before it is called deforestation-free"
    ),
    "overlay_flag": N_("{overlap_ha:ha} ha ({overlap_pct:.1f} %) inside {kind_text} {names} (overlay {overlay})"),
    "overlay_exclude": N_(
        "{overlap_ha:ha} ha ({overlap_pct:.1f} %) inside {kind_text} {names} (overlay {overlay}): left out of the "
        "EUDR export"
    ),
    # --- several products ---
    "product_reason": N_("{product}: {reason}"),
    "product_statuses": N_("statuses by product: {statuses}"),
}

#: The columns a verdict's reason is stored in (the text in the run's language, the code, the parts as JSON).
REASON_COLUMNS = ("status_reason", "status_reason_code", "status_reason_params")

#: Words that parameters ending in ``_text`` may hold (confidence levels...), marked for extraction.
WORDS = (N_("low"), N_("high"), N_("highest"))


@cache
def placeholders(text: str) -> frozenset[str]:
    """The named placeholders of a format string (``{loss_ha:.2f}`` → ``loss_ha``)."""
    return frozenset(name.split(".")[0].split("[")[0] for _lit, name, _spec, _conv in Formatter().parse(text) if name)


def _check(code: str, names) -> None:
    if code not in REASONS:
        raise KeyError(f"unknown reason code {code!r}: add it to pipeline.reasons.REASONS")
    needed, given = placeholders(REASONS[code]), set(names) - {"product"}
    if needed != given:
        raise KeyError(f"reason {code!r} takes {sorted(needed)}, was given {sorted(given)}")


def part(code: str, **params) -> dict:
    """One part of a reason: ``code`` (a key of :data:`REASONS`) and its parameters, checked
    against the sentence's placeholders (a missing or unknown one raises :class:`KeyError`)."""
    _check(code, params)
    return {"code": code, **{k: _plain(v) for k, v in params.items()}}


#: Decimals a number keeps in ``status_reason_params`` (1e-6 ha is 0.01 m², the project's zero;
#: the sentences show at most 4): short JSON, quickly written.
DECIMALS = 6


def _plain(value):
    """A parameter as JSON keeps it (numpy numbers to Python's, floats to :data:`DECIMALS`)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value):
        return round(value, DECIMALS)
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
    """The three stored columns of the reasons of many plots, one list of parts each:
    ``status_reason`` (text in the language in use), ``status_reason_code`` (the first part's
    code) and ``status_reason_params``. For many plots, :class:`Batch` is much faster."""
    texts, codes, params = [], [], []
    lang = language()
    cache: dict[str, str] = {}
    for parts in reasons:
        stored = encode(parts)
        if stored not in cache:
            cache[stored] = render(parts, lang)
        texts.append(cache[stored])
        codes.append(parts[0]["code"] if parts else "")
        params.append(stored)
    return {"status_reason": texts, "status_reason_code": codes, "status_reason_params": params}


def combined(verdicts: Sequence, products: Sequence[str], statuses: str | None) -> dict[str, np.ndarray]:
    """The reasons of plots whose status several products decide: each deciding product's reason,
    its first part named after the product ("tmf: ..."), then, when ``statuses`` is given, the
    status of every product (``product_statuses``). ``verdicts``: each product's verdict frame
    (the plots in the same order); vectorised on their stored columns."""
    join = _("; ")
    prefix, _sep, suffix = _(REASONS["product_reason"]).partition("{reason}")
    texts, stored = [], []
    for v, name in zip(verdicts, products):
        texts += [fmt(prefix, product=name), v["status_reason"].to_numpy().astype(object), suffix, join]
        body = v["status_reason_params"].to_numpy().astype(object)
        # '[{"code":...},{...}]' -> '{"product":"tmf","code":...},{...}' (key order does not matter to JSON)
        stored += ['{"product":' + json.dumps(name, ensure_ascii=False) + ",", _strip_list(body), ","]
    k = len(verdicts[0])
    if statuses is not None:
        texts.append(render_part(part("product_statuses", statuses=statuses)))
        stored.append(encode([part("product_statuses", statuses=statuses)])[1:-1])
    else:
        texts, stored = texts[:-1], stored[:-1]  # the last separator
    return {
        "status_reason": _concat(texts, k),
        "status_reason_code": verdicts[0]["status_reason_code"].to_numpy().astype(object),
        "status_reason_params": _concat(["[", *stored, "]"], k),
    }


def _strip_list(stored: np.ndarray) -> np.ndarray:
    """Each stored reason without its list brackets and its first object's opening brace."""
    return np.array([t[2:-1] if t.startswith("[{") else '"code":""}' for t in stored.tolist()], dtype=object)


def rendered(texts: Sequence, stored: Sequence) -> np.ndarray:
    """The reasons of many plots in the language in use, from their stored parts
    (``status_reason_params``); a plot without them (a screening written before reasons had
    codes, a NULL) keeps its text. Vectorised over the plots whose parts have the same codes."""
    out = np.array(list(texts), dtype=object)
    batch = Batch(len(out))
    has = np.zeros(len(out), dtype=bool)
    for i, value in enumerate(stored):
        parts = decode(value) if isinstance(value, str) else []
        if parts and all(p.get("code") in REASONS for p in parts):
            batch.add_each(i, parts)
            has[i] = True
    if has.any():
        out[has] = batch.columns()["status_reason"][has]
    return out


def in_language(frame):
    """``frame`` (a screening's ``plots`` layer) with every ``status_reason`` column — the plot's
    and each product's (``<product>_status_reason``) — rendered again in the language in use
    from its ``..._params`` column; columns without one are left as they are. A copy."""
    out = frame.copy(deep=False)
    for column in frame.columns:
        stored = f"{column}_params"
        if str(column).endswith("status_reason") and stored in frame.columns:
            out[column] = rendered(frame[column].tolist(), frame[stored].tolist())
    return out


# --- Many plots at once ---------------------------------------------------------------------------


class Batch:
    """The reasons of ``n`` plots, built a group at a time and stored vectorised (a million plots'
    texts and JSON in about a second): ``add(positions, (code, params), ...)`` gives the plots at
    ``positions`` the same parts, each parameter a scalar or an array with one value per position.
    :meth:`columns` gives the three stored columns, the text in the language in use; the same as
    :func:`columns` would give, value for value (a test checks)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.groups: list[tuple[np.ndarray, list[tuple[str, dict]]]] = []
        self.singles: list[tuple[int, Sequence[dict]]] = []

    def add(self, positions, *parts: tuple[str, dict]) -> None:
        positions = np.asarray(positions, dtype="int64").ravel()
        if not len(positions):
            return
        for code, params in parts:
            _check(code, params)
        self.groups.append((positions, [(code, dict(params)) for code, params in parts]))

    def add_each(self, position: int | np.integer, parts: Sequence[dict]) -> None:
        """One plot's parts, as :func:`part` builds them (for plots whose parts vary one by one);
        plots with parts of the same codes are rendered together."""
        self.singles.append((int(position), parts))

    def _gathered(self) -> list[tuple[np.ndarray, list[tuple[str, dict]]]]:
        """The single plots as groups: those whose parts have the same codes and keys, together."""
        shapes: dict[tuple, list[tuple[int, Sequence[dict]]]] = {}
        for position, single in self.singles:
            shapes.setdefault(tuple((p["code"], tuple(sorted(p))) for p in single), []).append((position, single))
        groups = []
        for shape, members in shapes.items():
            positions = np.array([m[0] for m in members], dtype="int64")
            parts: list[tuple[str, dict[str, Any]]] = []
            for j, (code, keys) in enumerate(shape):
                params: dict[str, Any] = {}
                for key in keys:
                    if key == "code":
                        continue
                    values = [m[1][j][key] for m in members]
                    same = all(v == values[0] for v in values) and isinstance(values[0], str)
                    params[key] = values[0] if same else np.array(values)
                parts.append((code, params))
            groups.append((positions, parts))
        return groups

    def columns(self) -> dict[str, np.ndarray]:
        texts = np.full(self.n, "", dtype=object)
        codes = np.full(self.n, "", dtype=object)
        stored = np.full(self.n, "[]", dtype=object)
        join = _("; ")
        for positions, parts in [*self.groups, *self._gathered()]:
            k = len(positions)
            text_pieces, json_pieces = [], ["["]
            for j, (code, params) in enumerate(parts):
                if j:
                    text_pieces.append(join)
                    json_pieces.append(",")
                text_pieces += _render_vector(code, params, k)
                json_pieces += _json_vector(code, params, k)
            texts[positions] = _concat(text_pieces, k)
            stored[positions] = _concat([*json_pieces, "]"], k)
            codes[positions] = parts[0][0] if parts else ""
        return {"status_reason": texts, "status_reason_code": codes, "status_reason_params": stored}


def _values(value, k: int) -> np.ndarray | None:
    """A parameter as an array of ``k`` values, or None for a scalar."""
    if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and len(value) == k):
        arr = np.asarray(value)
        return arr if arr.ndim else None
    return None


_C_SPEC = re.compile(r"(?:\.\d+)?[fg]")


def _format_vector(values: np.ndarray, spec: str) -> list[str]:
    """``format(v, spec)`` of every value (``ha``: 4 decimals below 0.01, else 2)."""
    v = values.tolist()
    if spec == "ha":
        return [format(x, ".4f") if -0.01 < x < 0.01 else format(x, ".2f") for x in v]
    if _C_SPEC.fullmatch(spec):
        return [format(x, spec) for x in v]
    if spec == "" and values.dtype.kind in "iu":
        return [str(x) for x in v]
    return [format(x, spec) for x in v]


def _render_vector(code: str, params: dict, k: int) -> list:
    """The pieces of one part's text for ``k`` plots: strings (shared) and arrays (one per plot)."""
    lang = language()
    pieces: list = []
    product = params.get("product")
    template = _(REASONS[code])
    body: list = []
    for literal, name, spec, conv in Formatter().parse(template):
        if literal:
            body.append(literal)
        if name is None:
            continue
        value = params[name]
        if name.endswith("_text") and isinstance(value, str):
            value = _(value)
        elif name.endswith("_text") and isinstance(value, np.ndarray):
            value = np.array([_(v) if isinstance(v, str) else v for v in value.tolist()], dtype=object)
        arr = _values(value, k)
        if arr is None:
            body.append(fmt("{0" + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}", value))
        elif arr.dtype.kind in "fiu" and not conv:  # as stored: the text renders again from the JSON
            stored = np.round(arr.astype("float64"), DECIMALS) if arr.dtype.kind == "f" else arr
            body.append(_localise_vector(_format_vector(stored, spec or ""), lang))
        else:
            body.append(
                np.array(
                    [
                        fmt("{0" + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}", v)
                        for v in arr.tolist()
                    ],
                    dtype=object,
                )
            )
    if product is None:
        return body
    prefix, _sep, suffix = _(REASONS["product_reason"]).partition("{reason}")
    pieces.append(fmt(prefix, product=product) if isinstance(product, str) else product)
    pieces += body
    pieces.append(suffix)
    return pieces


def _localise_vector(texts: list[str], lang: str) -> list[str]:
    from .i18n import _SYMBOLS, DEFAULT

    decimal, group = _SYMBOLS.get(lang, _SYMBOLS[DEFAULT])
    if decimal == ".":
        return texts
    table = {ord("."): decimal, ord(","): group}
    return [t.translate(table) for t in texts]


def _json_vector(code: str, params: dict, k: int) -> list:
    """The pieces of one part's JSON object for ``k`` plots (keys sorted, as :func:`encode` writes)."""
    items = sorted({"code": code, **params}.items())
    pieces: list = ["{"]
    for i, (key, value) in enumerate(items):
        pieces.append(("," if i else "") + json.dumps(key) + ":")
        arr = _values(value, k)
        if arr is None:
            pieces.append(json.dumps(_plain(value), ensure_ascii=False))  # a scalar: as part() stores it
        elif arr.dtype.kind == "f":  # as json.dumps writes a float (repr; NaN and Infinity by name)
            rounded = np.round(arr.astype("float64"), DECIMALS).tolist()
            pieces.append([repr(v) if math.isfinite(v) else json.dumps(v) for v in rounded])
        elif arr.dtype.kind in "iu":
            pieces.append([str(v) for v in arr.tolist()])
        else:
            pieces.append([json.dumps(_plain(v), ensure_ascii=False) for v in arr.tolist()])
    pieces.append("}")
    return pieces


def _concat(pieces: list, k: int) -> np.ndarray:
    """Shared strings and per-plot lists or arrays of strings, joined into ``k`` texts."""
    merged: list = []
    for p in pieces:  # adjacent shared strings first
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p if isinstance(p, (str, list)) else list(p))
    if all(isinstance(p, str) for p in merged):
        return np.full(k, "".join(merged), dtype=object)
    columns = [repeat(p, k) if isinstance(p, str) else p for p in merged]
    out = np.empty(k, dtype=object)
    out[:] = ["".join(row) for row in zip(*columns)]
    return out
