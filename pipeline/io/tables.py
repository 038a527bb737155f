"""Plots in tables: CSV (a WKT column, or latitude and longitude columns; the encoding and the
separator sniffed) and GeoParquet, or plain Parquet with such columns."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import PlotsError
from ..i18n import N_, _, formatter, tr
from .read_notes import RawPlots, ReadNotes

log = logging.getLogger(__name__)

#: Column names recognised (case-insensitively) when the user names none.
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "geometry_wkt")
LAT_NAMES = ("latitude", "lat", "y", "latitud")
LON_NAMES = ("longitude", "lon", "lng", "long", "x", "longitud")


# --- Tables: CSV and Parquet ------------------------------------------------------------------


def _sniff_csv(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV file, from its first 64 kB."""
    with path.open("rb") as f:
        head = f.read(65536)
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = text.splitlines()[0] if text else ""
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    return encoding, max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def read_csv(
    path: Path,
    *,
    id_column: str | None = None,
    wkt_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
) -> RawPlots:
    """A CSV with a WKT column or latitude/longitude columns. Cells are read as text first, so ids
    keep their leading zeros; other columns whose every value is a number become numbers."""
    try:
        encoding, sep = _sniff_csv(path)
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise PlotsError(tr("{path}: cannot read the CSV ({error})", path=path, error=str(exc).strip())) from exc
    if encoding != "utf-8-sig":
        log.warning(tr("{path}: not UTF-8; read as {encoding}", path=path, encoding=encoding))
    named = TableColumns(id_column, wkt_column, lat_column, lon_column)
    return _from_table(path, df, "CSV", named, decimal_comma=sep == ";", text=True)


def read_parquet(
    path: Path,
    *,
    id_column: str | None = None,
    wkt_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
) -> RawPlots:
    """GeoParquet (geometry and CRS from its metadata), or a plain Parquet table with geometry columns."""
    try:
        gdf = gpd.read_parquet(path)
        return RawPlots(gdf, ReadNotes(), "GeoParquet")
    except ValueError as exc:
        if "geo" not in str(exc).lower():
            raise PlotsError(tr("{path}: cannot read the Parquet file ({error})", path=path, error=exc)) from exc
    except (OSError, ImportError) as exc:
        raise PlotsError(tr("{path}: cannot read the Parquet file ({error})", path=path, error=exc)) from exc
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise PlotsError(tr("{path}: cannot read the Parquet file ({error})", path=path, error=exc)) from exc
    named = TableColumns(id_column, wkt_column, lat_column, lon_column)
    return _from_table(path, df, "Parquet", named, decimal_comma=False, text=False)


#: The refusal when a geometry column named on the command line is not in the table, by kind.
_NO_COLUMN = {
    "wkt": N_("{path}: no WKT column {column!r}; columns are: {columns}"),
    "lat": N_("{path}: no latitude column {column!r}; columns are: {columns}"),
    "lon": N_("{path}: no longitude column {column!r}; columns are: {columns}"),
}


def _find(columns: list[str], wanted: str | None, names: tuple[str, ...], what: str, path: Path) -> str | None:
    """The column ``wanted`` (refused when missing: ``what`` is a key of :data:`_NO_COLUMN`), else
    the first of ``names`` in ``columns`` (case-insensitively), else None."""
    if wanted is not None:
        if wanted not in columns:
            raise PlotsError(tr(_NO_COLUMN[what], path=path, column=wanted, columns=", ".join(columns) or _("none")))
        return wanted
    lower = {c.lower().strip(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


@dataclass(frozen=True)
class TableColumns:
    """The columns a user named (None: found by their usual names): the id, a WKT geometry, or
    latitude and longitude."""

    id_column: str | None = None
    wkt_column: str | None = None
    lat_column: str | None = None
    lon_column: str | None = None


def _from_table(
    path: Path, df: pd.DataFrame, driver: str, named: TableColumns, *, decimal_comma: bool, text: bool
) -> RawPlots:
    id_column, wkt_column, lat_column, lon_column = (
        named.id_column,
        named.wkt_column,
        named.lat_column,
        named.lon_column,
    )
    columns = [str(c) for c in df.columns]
    df.columns = columns
    notes = ReadNotes()
    wkt = _find(columns, wkt_column, WKT_NAMES, "wkt", path) if lat_column is None and lon_column is None else None
    if wkt is not None:
        geoms = _parse_wkt(df[wkt], notes)
        used = [wkt]
    else:
        lat = _find(columns, lat_column, LAT_NAMES, "lat", path)
        lon = _find(columns, lon_column, LON_NAMES, "lon", path)
        if lat is None or lon is None:
            raise PlotsError(
                tr(
                    "{path}: no geometry: expected a WKT column ({wkt}) or latitude and longitude columns ({lat}, "
                    "{lon}); columns are: {columns} (name them with --wkt-column or --lat-column/--lon-column)",
                    path=path,
                    wkt=", ".join(WKT_NAMES),
                    lat="/".join(LAT_NAMES),
                    lon="/".join(LON_NAMES),
                    columns=", ".join(columns) or _("none"),
                )
            )
        geoms = _parse_lat_lon(df[lat], df[lon], notes, decimal_comma=decimal_comma, names=(lat, lon))
        used = [lat, lon]
    attrs = df.drop(columns=used)
    if text:
        attrs = _numbers_where_numeric(attrs, keep={id_column} if id_column else set(), decimal_comma=decimal_comma)
    log.info("%s: %d rows; geometry from %s", path, len(df), " and ".join(repr(c) for c in used))
    return RawPlots(gpd.GeoDataFrame(attrs, geometry=geoms, crs=None), notes, driver)


def _numbers_where_numeric(df: pd.DataFrame, keep: set[str], decimal_comma: bool = False) -> pd.DataFrame:
    """Text columns whose non-blank cells are all numbers become numbers; blanks become missing.

    With ``decimal_comma`` (a ';'-separated file), ``2,5`` is read as 2.5 too."""
    out = {}
    for c in df.columns:
        col = df[c]
        blank = col.str.strip() == ""
        if c not in keep and not blank.all():
            for text in [col, col.str.replace(",", ".", regex=False)] if decimal_comma else [col]:
                num = pd.to_numeric(text.where(~blank), errors="coerce")
                if num[~blank].notna().all():
                    out[c] = num
                    break
            if c in out:
                continue
        out[c] = col.where(~blank, None)
    return pd.DataFrame(out, index=df.index)


def _parse_wkt(values: pd.Series, notes: ReadNotes) -> np.ndarray:
    raw = values.to_numpy(dtype=object)
    blank = pd.isna(values).to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    if len(raw) and isinstance(next((v for v in raw if v is not None and v == v), None), (bytes, bytearray)):
        geoms = shapely.from_wkb(np.where(blank, np.array(None), raw), on_invalid="ignore")
    else:
        geoms = shapely.from_wkt(np.where(blank, np.array(None), raw), on_invalid="ignore")
    failed = np.flatnonzero(~blank & shapely.is_missing(geoms))
    fill = formatter(_("the geometry {shown!r} cannot be read: {reason}"))
    for i in failed:  # only the bad rows: GEOS's own message
        try:
            (shapely.from_wkb if isinstance(raw[i], (bytes, bytearray)) else shapely.from_wkt)(raw[i])
            reason = _("not a geometry")
        except Exception as exc:  # noqa: BLE001 - GEOS's parse errors have no common type
            reason = str(exc)
        shown = str(raw[i])
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        notes.add(i, "unreadable_geometry", "error", fill(shown=shown, reason=reason))
    return geoms


def _parse_lat_lon(
    lat: pd.Series, lon: pd.Series, notes: ReadNotes, *, decimal_comma: bool, names: tuple[str, str]
) -> np.ndarray:
    def numbers(s: pd.Series):
        t = s.astype(str).str.strip()
        if decimal_comma:
            t = t.str.replace(",", ".", regex=False)
        blank = s.isna().to_numpy() | (t == "").to_numpy()
        values = pd.to_numeric(t.where(~blank), errors="coerce").to_numpy(dtype="float64")
        return np.where(np.isfinite(values), values, np.nan), blank  # 'nan', 'inf': not a place

    y, yb = numbers(lat)
    x, xb = numbers(lon)
    geoms = np.full(len(x), None, dtype=object)
    good = ~np.isnan(x) & ~np.isnan(y)
    geoms[good] = shapely.points(x[good], y[good])
    bad = ~good & ~(xb & yb)
    blank_fill, nan_fill = formatter(_("{column} is blank")), formatter(_("{column} {value!r} is not a number"))
    for i in np.flatnonzero(bad):
        problems = []
        for name, value, b, v in ((names[0], lat.iloc[i], yb[i], y[i]), (names[1], lon.iloc[i], xb[i], x[i])):
            if b:
                problems.append(blank_fill(column=name))
            elif np.isnan(v):
                problems.append(nan_fill(column=name, value=value))
        notes.add(i, "unreadable_geometry", "error", "; ".join(problems))
    return geoms
