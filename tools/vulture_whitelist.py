"""What vulture calls unused in ``pipeline/`` but is used, each reviewed (``make lint`` runs
``vulture pipeline tests tools bench tools/vulture_whitelist.py``). Add a name here only with the
reason it is used where vulture cannot see; delete the code instead when it is truly dead."""

# ruff: noqa: B018, F821 - bare names and attributes are how vulture's whitelists mark a use

# Hooks that a library calls by name.
_.showwarning  # warnings.showwarning = ...: the warnings module calls it (cli/app.py)
_.formatter_class  # click.Context reads it (cli/app.py)
_.context_class  # click.Command and click.Group read it (cli/app.py)
_.command_class  # click.Group reads it (cli/app.py)
_.format_options  # click.Command.format_help calls it (cli/help.py)
_.model_config  # pydantic reads it (config/base.py)
_._fields_  # ctypes reads a Structure's fields from it (io/gdal_arrow.py)
__getattr__  # PEP 562: the package's lazy attributes (job/__init__.py)
__dir__  # PEP 562 (job/__init__.py)

# Click commands: registered by their decorator, called by click.
fetch_tiles  # cli/fetch.py
field_pack  # cli/fieldpack.py
import_  # cli/reviews.py

# Pydantic validators: registered by @field_validator / @model_validator, called by pydantic.
_._needs
_._no_levels
_._consistent
_._preset
_._extension
_._scheduler
_._period
_._statuses
_._name

# Config fields read by name: stages/eudr/fields.py maps each EUDR property to its field's name.
_.producer_name_column
_.producer_country_column
_.production_place_column

# Messages marked for the catalogs (make i18n extracts them; they are looked up by their text).
CLICK_WORDS  # click's own words, translated by cli/app.py's gettext hook
SEVERITY_WORDS  # the severities shown by `screen`'s summary
FILE_WORDS  # the words of pipeline.errors' messages built from parts
WORDS  # reasons.py: levels a parameter ending in _text may hold
ntr  # the plural form of tr: extracted by tools/i18n.py, for plural messages
DEFAULT_TITLE  # the report's default title (config default), marked for the catalogs

# Export formats: each Writer class registers itself in EXPORT_FORMATS when it is defined.
CsvWriter
GeoParquetWriter
FlatGeobufWriter
GeoJsonWriter
EudrWriter

# Protocols: their members declare what an argument must have (engine/zonal.py Statistics is
# called by the engine, as its implementations are).
_.__call__

# The loss_patches layer's column order, documented beside the code that writes it.
PATCH_COLUMNS

# Tests and tools: hooks called by pytest, http.server, html.parser and Babel.
digest_cache  # an autouse pytest fixture (tests/conftest.py)
pytestmark  # pytest reads a module's marks from it
_.log_message  # http.server.BaseHTTPRequestHandler's hooks (tests/test_fetch.py)
_.do_HEAD
_.do_GET
_.close_connection
_.handle_starttag  # html.parser.HTMLParser's hooks (tests/test_report.py)
_.handle_endtag
_.handle_data
_.creation_date  # Babel's catalog header fields, set by tools/i18n.py
_.revision_date
_.fuzzy
# Fields declared to show that an unread or new option is caught (tests/test_config_fields.py,
# tests/test_options.py): unused on purpose.
_.rows_in_the_appendix
_.review_max_share_pct
