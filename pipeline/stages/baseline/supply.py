"""Supply chain: deliveries of cocoa from plots, grouped into lots and buyers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DeliveriesError
from ...i18n import N_, _, tr
from ...vocab import STATUS_PRECEDENCE, STATUSES, UNKNOWN
from .groups import label

#: The largest quantity a delivery may carry (any unit): beyond it, a value is an error, and the sums
#: of a lot or a buyer could overflow to infinity (1e308 + 1e308 = inf).
MAX_QUANTITY = 1e12

#: Supply-chain statuses: the plot statuses plus ``unknown``.
DELIVERY_STATUSES = (*STATUSES, UNKNOWN)


def parse_deliveries(raw: pd.DataFrame, source: str = "deliveries", quantity_column: str = "quantity") -> pd.DataFrame:
    """Check and type a deliveries table read as text (every cell a string).

    Required columns: ``lot_id``, ``plot_id`` and ``quantity_column`` (names matched ignoring
    case and surrounding spaces); optional: ``buyer``, ``date`` (ISO, e.g. 2024-03-31). Other
    columns are kept. Raises :class:`DeliveriesError` naming the file, the line (the header is
    line 1), the row and the column of each bad value (up to 10 listed): an empty, negative, not
    finite or absurd (over :data:`MAX_QUANTITY`) quantity, an empty id, a date that is not one.

    Returns ``source_row`` (1-based data row), ``lot_id``, ``plot_id``, ``quantity`` (float),
    then ``buyer`` and ``date`` when present, then the other columns.
    """
    by_key = {str(c).strip().lower(): c for c in raw.columns}
    want = {"lot_id": "lot_id", "plot_id": "plot_id", "quantity": quantity_column.strip().lower()}
    missing = [name for name in want.values() if name not in by_key]
    if missing:
        have = ", ".join(str(c) for c in raw.columns) or _("none")
        raise DeliveriesError(
            tr(
                "{source}: missing column(s) {missing} (the file has: {have}); required: lot_id, plot_id and the "
                "quantity",
                source=source,
                missing=", ".join(missing),
                have=have,
            )
        )
    problems: list[str] = []
    # Blank lines are skipped, but lines and rows keep their numbers in the file.
    blank = (
        raw.astype(str).apply(lambda c: c.str.strip() == "").all(axis=1).to_numpy()
        if len(raw.columns)
        else np.zeros(len(raw), dtype=bool)
    )
    row_number = np.flatnonzero(~blank) + 1
    raw = raw[~blank].reset_index(drop=True)

    def where(i: int | np.integer, col: str) -> str:
        return tr("line {line} (row {row}), column {column!r}", line=row_number[i] + 1, row=row_number[i], column=col)

    cols = {k: raw[by_key[v]].astype(str).str.strip() for k, v in want.items()}
    for key in ("lot_id", "plot_id"):
        for i in np.flatnonzero((cols[key] == "").to_numpy()):
            problems.append(tr("{where}: empty {column}", where=where(i, by_key[want[key]]), column=key))
    qty = pd.to_numeric(cols["quantity"], errors="coerce").to_numpy(dtype="float64")
    qcol = by_key[want["quantity"]]
    for i in np.flatnonzero(~np.isfinite(qty) | (qty < 0) | (qty > MAX_QUANTITY)):
        text = cols["quantity"].iloc[i]
        message = _quantity_problem(text, float(qty[i]))
        fields = dict(where=where(i, qcol), value=text, most=MAX_QUANTITY)
        problems.append(tr(message, **{k: v for k, v in fields.items() if "{" + k in message}))
    out = pd.DataFrame(
        {
            "source_row": row_number.astype("int64"),
            "lot_id": cols["lot_id"].to_numpy(dtype=object),
            "plot_id": cols["plot_id"].to_numpy(dtype=object),
            "quantity": qty,
        }
    )
    if "buyer" in by_key:
        out["buyer"] = raw[by_key["buyer"]].astype(str).str.strip().to_numpy(dtype=object)
    if "date" in by_key:
        given = raw[by_key["date"]].astype(str).str.strip()
        dates = pd.to_datetime(given.where(given != ""), format="%Y-%m-%d", errors="coerce")
        for i in np.flatnonzero((dates.isna() & (given != "")).to_numpy()):
            problems.append(
                tr("{where}: {value!r} is not a date (YYYY-MM-DD)", where=where(i, by_key["date"]), value=given.iloc[i])
            )
        out["date"] = _as_dates(dates)  # written as a GeoPackage DATE
    if problems:
        listed = "; ".join(problems[:10])
        if len(problems) > 10:
            listed = tr("{listed} (and {more} more)", listed=listed, more=len(problems) - 10)
        raise DeliveriesError(tr("{source}: {problems}", source=source, problems=listed))
    used = {by_key[v] for v in want.values()} | {by_key.get("buyer"), by_key.get("date")}
    for c in raw.columns:
        if c not in used and str(c) not in out.columns:
            out[str(c)] = raw[c].to_numpy(dtype=object)
    return out


def _quantity_problem(text: str, value: float) -> str:
    """The message (untranslated, with ``{where}``, ``{value}``, ``{most}``) for a bad quantity."""
    if text == "":
        return N_("{where}: empty quantity")
    if 0 > value > -np.inf:
        return N_("{where}: {value!r} is negative")
    if np.inf > value > MAX_QUANTITY:
        return N_("{where}: {value!r} is more than {most:.0e}: not a quantity of cocoa (a unit or typing error?)")
    if text.strip().lower().lstrip("+-") in ("inf", "infinity", "nan") or np.isinf(value):
        return N_("{where}: {value!r} is not a finite number")
    if "," in text:
        return N_("{where}: {value!r} is not a number (use a point as the decimal separator)")
    return N_("{where}: {value!r} is not a number")


def _as_dates(values: pd.Series) -> pd.Series:
    """Timestamps as ``datetime.date`` objects (None where missing), which GeoPackages store as DATE."""
    return pd.Series([v.date() if pd.notna(v) else None for v in values], index=values.index, dtype=object)


def match_deliveries(deliveries: pd.DataFrame, plots: pd.DataFrame) -> pd.DataFrame:
    """Add each delivery's ``plot_status`` (``unknown`` for an id in no row of the screening) and
    ``plot_rows``, the number of screened rows carrying its ``plot_id`` (0: unknown; more than 1:
    ambiguous, and the least favourable of their statuses is taken)."""
    ids = plots["plot_id"].astype(str)
    status = plots["status"].astype(str)
    rank = {s: k for k, s in enumerate(STATUS_PRECEDENCE)}
    per_id = pd.DataFrame({"plot_id": ids, "rank": status.map(rank)}).groupby("plot_id")["rank"].agg(["min", "size"])
    out = deliveries.copy()
    pid = out["plot_id"].astype(str)
    best = pid.map(per_id["min"])
    out["plot_status"] = [UNKNOWN if pd.isna(r) else STATUS_PRECEDENCE[int(r)] for r in best]
    out["plot_rows"] = pid.map(per_id["size"]).fillna(0).astype("int64").to_numpy()
    return out


def supply_figures(matched: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per value of ``key`` (``lot_id`` or ``buyer``): quantities by plot status and flags.

    ``deforestation_free_quantity_pct`` = 100 × quantity from deforestation-free plots / quantity;
    ``deforestation_free`` is true when every delivery comes from a deforestation-free plot.
    """
    m = matched.copy()
    if key == "buyer":
        m["buyer"] = [label(v) for v in m["buyer"]]
    keys = pd.Index(pd.unique(m[key]), name=key)
    g = m.groupby(key, sort=False)
    out = pd.DataFrame(index=keys)
    if key == "buyer":
        out["n_lots"] = g["lot_id"].nunique()
    elif "buyer" in m.columns:
        out["buyer"] = g["buyer"].agg(lambda s: ", ".join(sorted({label(v) for v in s})))
    if "date" in m.columns:
        d = pd.to_datetime(m["date"], errors="coerce")
        out["first_date"] = _as_dates(d.groupby(m[key], sort=False).min().reindex(keys))
        out["last_date"] = _as_dates(d.groupby(m[key], sort=False).max().reindex(keys))
    out["n_deliveries"] = g.size()
    out["n_plots"] = g["plot_id"].nunique()
    out["quantity"] = g["quantity"].sum()
    for s in DELIVERY_STATUSES:
        out[f"quantity_{s}"] = m["quantity"].where(m["plot_status"] == s, 0.0).groupby(m[key], sort=False).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        q = out["quantity"].to_numpy(dtype="float64")
        out["deforestation_free_quantity_pct"] = np.where(
            q > 0, 100.0 * out["quantity_deforestation_free"].to_numpy(dtype="float64") / q, np.nan
        )
    for s in DELIVERY_STATUSES:
        if s != "deforestation_free":
            out[f"contains_{s}"] = (m["plot_status"] == s).groupby(m[key], sort=False).any()
    out["deforestation_free"] = (m["plot_status"] == "deforestation_free").groupby(m[key], sort=False).all()

    def id_list(mask: pd.Series) -> pd.Series:
        sub = m[mask]
        return sub.groupby(key, sort=False)["plot_id"].agg(lambda s: ", ".join(pd.unique(s.astype(str))))

    out["unknown_plot_ids"] = id_list(m["plot_status"] == UNKNOWN).reindex(keys).fillna("")
    out["ambiguous_plot_ids"] = id_list(m["plot_rows"] > 1).reindex(keys).fillna("")
    return out.reset_index()
