"""The ``cacao-screen`` command group, its logging and verbosity options; commands register here."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from pathlib import Path

import click

from .. import __version__
from ..i18n import LANGUAGES, N_, _, set_language, tr

log = logging.getLogger("pipeline")


#: The levels of the log, as its lines name them (``WARNING: ...``), in the language in use.
LEVEL_WORDS = {
    "DEBUG": N_("DEBUG"),
    "INFO": N_("INFO"),
    "WARNING": N_("WARNING"),
    "ERROR": N_("ERROR"),
    "CRITICAL": N_("CRITICAL"),
}


class _LevelFormatter(logging.Formatter):
    """``LEVEL: message``, the level named in the language in use."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        word = LEVEL_WORDS.get(record.levelname)
        return f"{_(word)}{text[len(record.levelname) :]}" if word and text.startswith(record.levelname) else text


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, logging.Formatter) and handler.formatter._fmt == "%(levelname)s: %(message)s":
            handler.setFormatter(_LevelFormatter("%(levelname)s: %(message)s"))
    logging.getLogger("pipeline").setLevel(level)
    warnings.showwarning = show_library_warning


def show_library_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library's warning (numpy, shapely, GDAL...) as one line of the log, naming the library, not its
    source file: nothing with a site-packages path reaches the user; with -q, nothing at all.
    The full location is logged with -vv."""
    parts = Path(str(filename)).parts
    package = parts[parts.index("site-packages") + 1] if "site-packages" in parts[:-1] else Path(str(filename)).stem
    library = package.split(".")[0].lstrip("_") or "python"
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    log.warning(
        tr(
            "{library} says: {text} (a {kind}; rerun with -vv for where)",
            library=library,
            text=text,
            kind=category.__name__,
        )
    )
    log.debug("%s:%s: %s: %s", filename, lineno, category.__name__, message)


# --- Help in the language in use ---------------------------------------------------------------
# Click's own words (headings, the help option), marked here so that `make i18n` extracts them.
CLICK_WORDS = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
)


class _HelpFormatter(click.HelpFormatter):
    """Click's formatter with its headings in the language in use."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else _("Usage:") + " ")

    @contextlib.contextmanager
    def section(self, name: str):
        with super().section(_(name)):
            yield


class _Context(click.Context):
    formatter_class = _HelpFormatter


@contextlib.contextmanager
def _translated(objects):
    """The help texts of commands and parameters in the language in use, for the time of one
    ``--help`` (the English texts are the message ids: ``make i18n`` reads them from the command tree)."""
    saved = []
    for obj in objects:
        for attr in ("help", "short_help", "epilog"):
            text = getattr(obj, attr, None)
            if isinstance(text, str) and text:
                saved.append((obj, attr, text))
                setattr(obj, attr, _(text))
    try:
        yield
    finally:
        for obj, attr, text in reversed(saved):
            setattr(obj, attr, text)


class Command(click.Command):
    """A command whose ``--help`` speaks the language in use."""

    context_class = _Context

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated([self, *self.get_params(ctx)]):
            super().format_help(ctx, formatter)


class Group(click.Group):
    """The command group: its commands are :class:`Command`; its help too speaks the language in use."""

    context_class = _Context
    command_class = Command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated([self, *self.get_params(ctx), *self.commands.values()]):
            super().format_help(ctx, formatter)


def _lang_callback(ctx: click.Context, param: click.Parameter, value):
    """--lang, wherever it is given: the language of every message from now on."""
    if value:
        set_language(value)
        ctx.find_root().ensure_object(dict)["lang"] = value
    return value


def lang_option(f):
    """``--lang es|en`` (processed first, so that ``--help`` after it is in that language)."""
    return click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        default=None,
        is_eager=True,
        expose_value=False,
        callback=_lang_callback,
        help="Language of the messages, the report and the GeoPackage's descriptions and styles "
        "(default: output.language in a config, else es when LC_ALL, LC_MESSAGES or LANG is es_*, else en).",
    )(f)


def lang_given(ctx: click.Context) -> bool:
    """Whether --lang was given on the command line (it wins over ``output.language``)."""
    return bool(ctx.find_root().obj and ctx.find_root().obj.get("lang"))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cacao-screen")
@lang_option
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging, with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bar, no summary.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Screen cocoa plots for deforestation after a reference year (EUDR: 2020).

    For every plot, cacao-screen measures exactly — the fraction of each pixel inside the plot times
    the pixel's area on the WGS84 ellipsoid — how much was forest in 2000 and how much forest was
    lost each year, then flags the plot deforestation_free, review, deforestation_detected,
    not_assessed or invalid. Results go to a GeoPackage you can open in QGIS.

    \b
    Quick start (synthetic sample):
      cacao-screen sample --out data/sample
      cacao-screen run --config configs/sample.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    setup_logging(verbose, quiet)


def _verbosity_callback(ctx: click.Context, param: click.Parameter, value):
    """-v/-q given after the command name work as they do before it."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if param.name == "verbose" and value:
        root.obj["verbose"] = root.obj.get("verbose", 0) + value
    elif param.name == "quiet" and value:
        root.obj["quiet"] = True
    if value:
        setup_logging(root.obj.get("verbose", 0), root.obj.get("quiet", False))
    return value


def verbosity_options(f):
    """-q, -v and --lang, on every command."""
    f = lang_option(f)
    f = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_verbosity_callback,
        help="Only errors; no progress bar, no summary.",
    )(f)
    f = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_verbosity_callback,
        help="More messages (-vv for debugging).",
    )(f)
    return f


def progress_wanted(ctx: click.Context) -> bool:
    """Progress bars: on a terminal, unless -q."""
    return not ctx.find_root().obj.get("quiet") and sys.stderr.isatty()


def quiet(ctx: click.Context) -> bool:
    return bool(ctx.find_root().obj.get("quiet"))


def invocation(ctx: click.Context, config_path=None):
    """How this command was started (:class:`pipeline.job.Invocation`), for the provenance."""
    from ..job import Invocation

    return Invocation(command=str(ctx.find_root().obj.get("command", "")), config_path=config_path)


def wait_lock_option(f):
    """``--wait-lock SECONDS`` of the commands that write outputs (``screen`` and ``run`` have it from
    ``output.wait_lock``)."""
    from ..config import OutputConfig

    field = OutputConfig.model_fields["wait_lock"]
    return click.option(
        "--wait-lock",
        type=click.FloatRange(min=0),
        default=0.0,
        metavar="SECONDS",
        show_default=True,
        help=field.description,
    )(f)
