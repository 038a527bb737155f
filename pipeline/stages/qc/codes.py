"""The quality-control issue codes: severity, what happened, what the user can do.

``docs/qc.md`` shows this table; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Severities: ``error`` (the plot is not screened: status ``invalid``), ``warning`` (screened,
#: flagged), ``info`` (for the record; ``qc_status`` stays ``ok``).
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class IssueCode:
    severity: str  # 'error', 'warning', 'info' or 'error or warning'
    what: str  # what happened
    todo: str  # what the user can do


ISSUE_CODES: dict[str, IssueCode] = {
    "unreadable_geometry": IssueCode(
        "error",
        "the row's geometry cannot be read: WKT that does not parse, a latitude or longitude "
        "that is blank or not a number, GeoJSON coordinates that are not rings",
        "correct the cell or feature in the file (the message quotes it)",
    ),
    "empty_geometry": IssueCode("error", "the row has no geometry, or an empty one", "redraw or re-export the plot"),
    "non_polygonal": IssueCode(
        "error",
        "a line, or several points in one row: only polygons and single points can be screened",
        "map the plot's boundary as a closed polygon, or give one point per plot",
    ),
    "invalid_geometry": IssueCode(
        "error",
        "the polygon is invalid (crosses itself...) and repair is off (`qc.repair_invalid: false`); "
        "GEOS's reason and location are given",
        "fix it in QGIS (*Fix geometries*), or leave repair on",
    ),
    "collapsed_polygon": IssueCode(
        "error",
        "the polygon has no area (under 1 m²): all its vertices on one line or at one spot, even after repair",
        "redraw the plot",
    ),
    "coordinates_out_of_range": IssueCode(
        "error",
        "coordinates beyond longitude ±180° / latitude ±90° (or not finite) that swapping does not "
        "explain: usually metres (UTM) in a file that claims longitude/latitude; or a point so near a pole "
        "that no circle can be drawn around it",
        "save the file with its true CRS, or state it with `--crs`",
    ),
    "crosses_antimeridian": IssueCode(
        "error",
        "the plot lies on both sides of the antimeridian (180°): its longitudes span more than 180° with "
        "vertices near -180° and +180° (a ring crossing the line, or parts split at it), so as one row it "
        "would be read as a band around the globe; it is not screened",
        "split it at 180° (RFC 7946; `ogr2ogr -wrapdateline`) and give each side its own row",
    ),
    "too_large_to_screen": IssueCode(
        "error",
        "the plot's bounding box spans more than `qc.max_extent_deg` (default 1°, about 110 km) of longitude or "
        "latitude: not a farm plot (a region, a unit error?); it is not screened",
        "check the plot; raise `qc.max_extent_deg` if it really is one plot: a plot of any size is measured window "
        "by window, in bounded memory",
    ),
    "suspect_swapped_coordinates": IssueCode(
        "error or warning",
        "longitude and latitude look swapped. **Error** when a latitude is beyond ±90° "
        "but would fit as a longitude (cannot be screened); **warning** when the plot lies outside the "
        "rasters (or `--bounds`) and would lie inside swapped (screened as it is: `not_assessed`)",
        "fix the file, or rerun with `--fix-swapped-coordinates` to swap them back",
    ),
    "swapped_coordinates_fixed": IssueCode(
        "warning",
        "longitude and latitude were swapped back, as asked (`--fix-swapped-coordinates`); the "
        "swapped-back plot is screened, the output keeps the original",
        "fix the file",
    ),
    "geometry_repaired": IssueCode(
        "warning",
        "the polygon was invalid (self-intersection, overlapping parts, a ring turning back on "
        "itself...) or a geometry collection; it was repaired with `shapely.make_valid` (structure method: "
        "the rings' areas united) keeping the polygonal parts, and the repair is screened; the output keeps "
        "the original. The message gives GEOS's reason, its location, and the repaired area",
        "check the repaired area is the plot; fix the file (QGIS *Fix geometries*)",
    ),
    "text_not_utf8": IssueCode(
        "warning",
        "a text attribute holds bytes that are not UTF-8 (a Shapefile whose `.cpg` says UTF-8 but which holds "
        "Latin-1 text, a GeoPackage written by a faulty tool): they are replaced by � (U+FFFD) in the outputs; "
        "the attribute and the byte are named",
        "save the file with its true encoding (for a Shapefile, a `.cpg` naming it)",
    ),
    "nested_rings_repaired": IssueCode(
        "warning",
        "a GeoJSON geometry whose coordinates are nested at the wrong depth (a `Polygon` "
        "nested like a `MultiPolygon`), which GDAL reads as an empty geometry, was read from the file's "
        "own coordinates",
        "fix the exporting tool; nothing to do for screening",
    ),
    "point_buffered": IssueCode(
        "warning",
        "a point: screened as a geodesic circle of the declared area around it (EUDR allows "
        "points for plots up to 4 ha), or of `qc.point_default_area_ha` when no area is declared; the "
        "output keeps the point",
        "map the plot's boundary for an exact screening",
    ),
    "point_over_4ha": IssueCode(
        "warning",
        "a point whose declared area is over 4 ha: EUDR requires a polygon for such plots",
        "map the plot's boundary",
    ),
    "large_plot": IssueCode(
        "warning",
        "the plot is larger than `qc.max_area_ha` (default 100 ha): unusual for a farm plot",
        "check it is one plot (not a farm, a district, or a unit error)",
    ),
    "area_mismatch": IssueCode(
        "warning",
        "the declared area (`declared_area_ha`, `area_ha` or EUDR `Area` column, in ha) differs "
        "from the computed area by more than `qc.area_tolerance_pct` (default 10 %) and "
        "`qc.area_tolerance_ha` (default 0.01 ha)",
        "check the polygon and the declared figure",
    ),
    "declared_area_unreadable": IssueCode("warning", "the declared-area cell is not a number", "correct the cell"),
    "declared_area_implausible": IssueCode(
        "error or warning",
        "the declared area (the value is given) is negative, or more than any plot can have: larger than a "
        "circle `qc.max_extent_deg` across at the equator (about 973,000 ha for 1°). It is ignored. **Error** for "
        "a point, whose circle it would draw (the point is not screened); **warning** for a polygon",
        "correct the declared area (a unit error: m² for ha?)",
    ),
    "low_precision": IssueCode(
        "warning",
        "no coordinate of the plot has more than 5 decimals (`qc.min_decimals`, EUDR asks for 6, "
        "about 0.1 m); only checked when the file is in WGS84 longitude/latitude",
        "export the coordinates with 6 decimals or more",
    ),
    "duplicate_id": IssueCode(
        "warning", "another row has the same `plot_id`; both are screened", "give each plot its own id"
    ),
    "generated_id": IssueCode(
        "warning",
        "the row had no id; `row-<n>` was made from its position",
        "add an id column and name it with `--id-column`",
    ),
    "duplicate_geometry": IssueCode(
        "warning",
        "another row has the same geometry: one finding per plot, naming one partner (id and row) and how "
        "many rows share the geometry",
        "remove the repeated row, or correct one of the two",
    ),
    "overlap": IssueCode(
        "warning",
        "the plot overlaps another by at least `qc.overlap_min_share` (default 10 %) of the "
        "smaller of the two (the partner's id, row, and the shared hectares are given); copies of one "
        "geometry count as one partner, and at most the 5 largest overlaps of a plot are listed, saying how "
        "many there are",
        "correct the boundaries; overlapping plots double-count area",
    ),
    "has_holes": IssueCode(
        "info",
        "the polygon has holes: they are not part of the plot and are not screened, but EUDR geolocation files may "
        "refuse them",
        "nothing for screening; for an EUDR export, split the plot around the hole",
    ),
}
