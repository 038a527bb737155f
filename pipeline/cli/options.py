"""Command-line options generated from the config models' fields.

An option is a config key (``screening.reference_year``) and a flag name (``--reference-year``);
its type, default and help come from the field (:mod:`pipeline.config`). The commands collect
the options given into dotted keys (:func:`given`), which become a config (``screen``) or
override one (``run``). :func:`options_table` writes the Markdown tables of ``docs/usage.md``
from the same list, so the docs, ``--help`` and the models cannot drift apart.

    python -m pipeline.cli.options        # print the tables
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..config import BaselineConfig, ExportConfig, QCConfig, ReportConfig, RunConfig, ScreeningConfig


@dataclass(frozen=True)
class Option:
    """One generated option: a config key, its flag, and how the flag sets the key."""

    key: str  # dotted key under ``root`` (e.g. "screening.reference_year")
    flag: str  # "--reference-year"
    root: type[BaseModel] = RunConfig
    switch: Any = None  # a boolean switch: the value the flag sets (True, or False for "--no-x")
    # A flag "--x/--no-x" is a two-way switch: True, False, or (not given) the config's value.
    metavar: str | None = None
    help: str | None = None  # what the flag does, when the field's description says it the other way

    @property
    def dest(self) -> str:
        return self.key.replace(".", "__")

    @property
    def field(self) -> FieldInfo:
        return field_of(self.root, self.key)

    @property
    def in_optional_section(self) -> bool:
        """Whether the key lies in a section that may be left out (``baseline.regions``...): then
        a field that section requires is not required by the command."""
        model: type[BaseModel] | None = self.root
        for name in self.key.split(".")[:-1]:
            assert model is not None
            f = model.model_fields[name]
            if not f.is_required() and f.default is None:
                return True
            model = _model_of(f.annotation)
        return False

    def describe(self) -> tuple[str, str]:
        """(meaning, default) for help and docs."""
        meaning, default = describe(self.field)
        if default == "(required)" and self.in_optional_section:
            default = "none"
        return self.help or meaning, default

    @property
    def config_key(self) -> str:
        """The key as written in a job config file."""
        return CONFIG_PREFIX.get(self.root, "") + self.key


#: Where a command's own model sits in a job config file.
CONFIG_PREFIX: dict[type[BaseModel], str] = {
    BaselineConfig: "baseline.",
    ExportConfig: "exports[].",
    ReportConfig: "report.",
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def field_of(root: type[BaseModel], dotted: str) -> FieldInfo:
    """The pydantic field behind a dotted key (sections are followed through Optional)."""
    model: type[BaseModel] | None = root
    *sections, leaf = dotted.split(".")
    for name in sections:
        assert model is not None
        model = _model_of(model.model_fields[name].annotation)
        if model is None:
            raise KeyError(f"{dotted}: {name} is not a section")
    assert model is not None
    return model.model_fields[leaf]


_DEFAULT_IN_TEXT = re.compile(r"\s*\(default: ([^()]*(?:\([^()]*\)[^()]*)*)\)")


def describe(field: FieldInfo) -> tuple[str, str]:
    """(meaning, default) of a field, for help and docs. A field whose default is computed says
    how in its description, "(default: ...)"; that text is the default shown."""
    text = field.description or ""
    m = _DEFAULT_IN_TEXT.search(text)
    if m:
        return (text[: m.start()] + text[m.end() :]).strip(), m.group(1).strip()
    if field.is_required():
        return text, "(required)"
    default = field.get_default(call_default_factory=True)
    if isinstance(default, bool):
        return text, "on" if default else "off"
    if default is None or default == []:
        return text, "none"
    if isinstance(default, float) and default.is_integer():
        return text, str(int(default))
    return text, str(default)


def _click_type(field: FieldInfo) -> Any:
    ann = field.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if typing.get_origin(ann) in (typing.Union, types.UnionType) and len(args) == 1:
        ann = args[0]
    if typing.get_origin(ann) is Literal:
        return click.Choice([str(v) for v in typing.get_args(ann)])
    if ann is int:
        return int
    if ann is float:
        return float
    if ann is Path:
        return click.Path(path_type=Path)
    return str  # text, and raster layer specifications (a file, folder, glob or URL)


def _is_list(field: FieldInfo) -> bool:
    ann = field.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if typing.get_origin(ann) in (typing.Union, types.UnionType) and len(args) == 1:
        ann = args[0]
    return typing.get_origin(ann) is list


def make_option(opt: Option, *, required: bool = False, help_prefix: str = "") -> Callable:
    """The click option for ``opt``, with the field's help and default."""
    meaning, default = opt.describe()
    help_text = f"{help_prefix}{meaning}" + ("" if meaning.endswith(".") else ".")
    if not required and opt.switch is None:  # a switch is off unless given
        help_text += f"  [default: {default}]"
    kw: dict[str, Any] = {"default": None, "help": help_text}
    if "/" in opt.flag:  # "--x/--no-x": None unless given
        kw.update(is_flag=True)
        return click.option(opt.flag, opt.dest, **kw)
    if opt.switch is not None:
        kw.update(is_flag=True, flag_value=opt.switch)
    elif _is_list(opt.field):
        kw.update(multiple=True, default=())
    else:
        kw.update(type=_click_type(opt.field), required=required)
        if opt.metavar:
            kw["metavar"] = opt.metavar
    return click.option(opt.flag, opt.dest, **kw)


def apply(options: list[Option], *, required: tuple[str, ...] = ()) -> Callable:
    """Decorate a command with ``options`` (in this order in ``--help``)."""

    def deco(f):
        for opt in reversed(options):
            if opt.flag != LANG_FLAG:  # every command has --lang already (cli.app.lang_option)
                f = make_option(opt, required=opt.key in required)(f)
        return f

    return deco


def given(options: list[Option], kwargs: dict[str, Any], *, absolute_paths: bool = False) -> dict[str, Any]:
    """The options given on the command line as {dotted key: value}; the others are left out."""
    out = {}
    for opt in options:
        value = kwargs.pop(opt.dest, None)
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            value = list(value)
        if absolute_paths and isinstance(value, Path):
            value = value.absolute()  # relative to where the command runs, not to the config file
        out[opt.key] = value
    return out


# --- The options of each command -----------------------------------------------------------------

#: ``output.language``'s flag. Every command has it (``cli.app.lang_option``, eager, so that the
#: ``--help`` after it speaks the language): ``apply`` leaves it to that option.
LANG_FLAG = "--lang"

PLOT_OPTIONS = [
    Option("plots.path", "--plots", metavar="PATH"),
    Option("plots.layer", "--layer"),
    Option("plots.id_column", "--id-column"),
    Option("plots.crs", "--crs"),
    Option("plots.wkt_column", "--wkt-column"),
    Option("plots.lat_column", "--lat-column"),
    Option("plots.lon_column", "--lon-column"),
    Option("plots.established_column", "--established-column"),
]
RASTER_OPTIONS = [
    Option("rasters.loss_year", "--loss-year", metavar="SPEC"),
    Option("rasters.tree_cover", "--tree-cover", metavar="SPEC"),
    Option("rasters.datamask", "--datamask", metavar="SPEC"),
    Option("rasters.last_year", "--last-year", metavar="YEAR"),
]
#: ``screen --alerts``: one GFW integrated-alerts product (``run`` takes the ``datasets:`` form).
ALERT_OPTIONS = [
    Option("alerts.path", "--alerts", metavar="SPEC"),
    Option("alerts.min_confidence", "--alerts-min-confidence"),
    Option("alerts.forest_mask", "--alerts-forest-mask", metavar="SPEC"),
]


def section_options(
    section: str, model: type[BaseModel], special: dict[str, Option] | None = None, root: type[BaseModel] = RunConfig
) -> list[Option]:
    """An option for every field of a config section, in the model's order: ``--field-name`` (a
    ``--no-field-name`` switch for a setting that is on by default), or the ``special`` one given
    for that field. A field added to the model gets its option, its help and its docs row."""
    special = special or {}
    out = []
    for name, field in model.model_fields.items():
        if name in special:
            out.append(special[name])
            continue
        if _model_of(field.annotation) is not None:  # a nested section: in the YAML file only
            continue
        key, flag = f"{section}.{name}" if section else name, "--" + name.replace("_", "-")
        if field.annotation is bool:
            on = bool(field.default)
            out.append(
                Option(
                    key,
                    f"--no-{flag[2:]}" if on else flag,
                    root,
                    switch=not on,
                    help=f"Turn off: {field.description}" if on else None,
                )
            )
        else:
            out.append(Option(key, flag, root, metavar=_metavar(name, field)))
    return out


def _metavar(name: str, field: FieldInfo) -> str | None:
    if name.endswith("_date"):
        return "YYYY-MM-DD"
    if _click_type(field) not in (int, float):
        return None
    units = (
        ("_pct", "PCT"),
        ("_threshold", "PCT"),
        ("_ha", "HA"),
        ("_year", "YEAR"),
        ("_share", "SHARE"),
        ("_mb", "MB"),
        ("_m", "M"),
    )
    for suffix, metavar in units:
        if name.endswith(suffix):
            return metavar
    return "N"


SCREENING_OPTIONS = section_options("screening", ScreeningConfig)
QC_OPTIONS = section_options(
    "qc",
    QCConfig,
    {
        "repair_invalid": Option(
            "qc.repair_invalid",
            "--no-repair",
            switch=False,
            help="Do not repair invalid polygons: report them as errors (invalid_geometry), not screened",
        ),
    },
)
#: ``--overlay``: vector layers overlaid on the plots (protected areas, native communities...).
OVERLAY_OPTIONS = [Option("overlays", "--overlay", metavar="SPEC")]
OUTPUT_OPTIONS = [
    Option("output.path", "--out", metavar="PATH"),
    Option("output.overwrite", "--overwrite", switch=True),
    Option("output.incremental", "--incremental", switch=True),
    Option("output.wait_lock", "--wait-lock", metavar="SECONDS"),
    Option("output.language", LANG_FLAG, metavar="en|es"),
]
EXECUTION_OPTIONS = [
    Option("execution.workers", "--workers", metavar="N"),
    Option("execution.scheduler", "--scheduler", metavar="threads|local|ADDRESS"),
    Option("execution.chunk_plots", "--chunk-plots", metavar="N"),
]
#: ``screen`` and ``run --reviews``: the field checks that settle plots.
REVIEW_OPTIONS = [Option("reviews", "--reviews", metavar="PATH")]
#: ``screen``: the whole job from flags.
SCREEN_OPTIONS = [
    *PLOT_OPTIONS,
    *RASTER_OPTIONS,
    *ALERT_OPTIONS,
    *REVIEW_OPTIONS,
    *SCREENING_OPTIONS,
    *QC_OPTIONS,
    *OVERLAY_OPTIONS,
    *OUTPUT_OPTIONS,
    *EXECUTION_OPTIONS,
]
#: ``run``: flags override the config file (the plots, rasters and alerts come from the file, but
#: for the plots' reading settings and the last loss year).
RUN_OPTIONS = [
    o
    for o in SCREEN_OPTIONS
    if o.key != "plots.path"
    and not (o.key.startswith("rasters.") and o.key != "rasters.last_year")
    and not o.key.startswith("alerts.")
]
#: ``validate``: the plots and the quality control.
VALIDATE_OPTIONS = [o for o in [*PLOT_OPTIONS, *QC_OPTIONS] if o.key != "plots.path"]

#: ``export``: every field of an export (``exports`` of a job config).
EXPORT_OPTIONS = section_options(
    "",
    ExportConfig,
    {"out": Option("out", "--out", ExportConfig, metavar="PATH")},
    root=ExportConfig,
)
#: ``report``: every field of the report (``report`` of a job config).
REPORT_OPTIONS = section_options(
    "", ReportConfig, {"out": Option("out", "--out", ReportConfig, metavar="PATH")}, root=ReportConfig
)

BASELINE_OPTIONS = [
    Option("output", "--out", BaselineConfig, metavar="PATH"),
    Option("start_year", "--baseline-start", BaselineConfig, metavar="YEAR"),
    Option("end_year", "--baseline-end", BaselineConfig, metavar="YEAR"),
    Option("regions.path", "--regions", BaselineConfig, metavar="PATH"),
    Option("regions.layer", "--region-layer", BaselineConfig),
    Option("regions.id_column", "--region-id-column", BaselineConfig),
    Option("regions.name_column", "--region-name-column", BaselineConfig),
    Option("cooperative_column", "--cooperative-column", BaselineConfig),
    Option("group_by", "--group-by", BaselineConfig),
    Option("deliveries.path", "--deliveries", BaselineConfig, metavar="PATH"),
    Option("deliveries.quantity_column", "--quantity-column", BaselineConfig),
    Option("previous", "--previous", BaselineConfig, metavar="PATH"),
    Option("ring_m", "--ring-m", BaselineConfig, metavar="M"),
    Option("region_totals", "--region-totals/--no-region-totals", BaselineConfig),
]


# --- Docs ----------------------------------------------------------------------------------------


def _row(opt: Option, note: str = "") -> str:
    meaning, default = opt.describe()
    meaning = meaning.replace("|", "\\|")
    return f"| `{opt.flag}`{note} | `{opt.config_key}` | {default} | {meaning} |"


_HEAD = "| flag | config key | default | meaning |\n| --- | --- | --- | --- |"


def rows_table(options: list[Option]) -> str:
    """A Markdown table of ``options``: flag, config key, default, meaning."""
    return "\n".join([_HEAD, *(_row(o) for o in options)]) + "\n"


def options_table() -> str:
    """The Markdown tables of docs/usage.md: every option of screen/run, and of baseline."""
    run_keys = {o.key for o in RUN_OPTIONS}
    screen_rows = [_row(o, "" if o.key in run_keys else " (screen only)") for o in SCREEN_OPTIONS]
    parts = [
        "#### `screen` and `run`",
        "",
        _HEAD,
        *screen_rows,
        "",
        "`run --config FILE` takes every option above but `--plots`, the raster layers and the alerts, "
        "which come from the file (alert products: `datasets:`, see [data.md](data.md#deforestation-alerts)); "
        "a flag given overrides the file. `validate` takes the plots and `qc` options.",
        "",
        "#### `baseline`",
        "",
        _HEAD,
        *(_row(o) for o in BASELINE_OPTIONS),
        "",
        "#### `export`",
        "",
        _HEAD,
        *(_row(o) for o in EXPORT_OPTIONS),
        "",
        "#### `report`",
        "",
        _HEAD,
        *(_row(o) for o in REPORT_OPTIONS),
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(options_table(), end="")


#: ``--screening`` of the commands that read a screening (``baseline``, ``export``, ``report``).
screening_option = click.option(
    "--screening",
    required=True,
    type=click.Path(path_type=Path),
    help="A screening.gpkg written by `cacao-screen screen` or `run`.",
)
