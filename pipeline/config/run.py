"""The whole job (:class:`RunConfig`), validated from a mapping with errors naming every bad key."""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ConfigError
from ..i18n import N_, _, language, tr
from .base import _NAME, _fix, _fix_spec, _Section
from .inputs import (
    GFW_ALERTS_NAME,
    AlertDatasetConfig,
    AlertsConfig,
    AnyDataset,
    ClassMapDatasetConfig,
    DatasetConfig,
    PlotsConfig,
    RastersConfig,
)
from .outputs import BaselineConfig, ExecutionConfig, ExportConfig, OutputConfig, ReportConfig
from .overlays import OverlayConfig
from .screening import QCConfig, ScreeningConfig


class RunConfig(_Section):
    """A screening job: what ``cacao-screen run --config`` reads and ``screen`` builds from its flags."""

    plots: PlotsConfig
    rasters: RastersConfig | None = Field(None, description="One Hansen product (shorthand for datasets)")
    alerts: AlertsConfig | None = Field(
        None, description="One GFW integrated-alerts product named gfw_integrated (shorthand for datasets)"
    )
    datasets: dict[str, AnyDataset] | None = Field(
        None, description="Named loss products, the first primary, and alert products (kind: alerts)"
    )
    screening: ScreeningConfig = ScreeningConfig()
    qc: QCConfig = QCConfig()
    output: OutputConfig = OutputConfig()
    execution: ExecutionConfig = ExecutionConfig()
    baseline: BaselineConfig | None = Field(None, description="Also build the baseline GeoPackage after screening")
    exports: list[ExportConfig] = Field(
        default_factory=list, description="Also export the screening to these formats after screening"
    )
    report: ReportConfig | None = Field(None, description="Also write the HTML report after screening")
    reviews: Path | None = Field(
        None,
        description="The review log of field checks (reviews.gpkg, made by 'cacao-screen reviews import'): the "
        "latest check of each plot settles its satellite verdict (docs/review.md)",
    )
    overlays: list[OverlayConfig] = Field(
        default_factory=list,
        description="Vector layers overlaid on the plots, each name=...,file=...,kind=...,effect=... "
        "(also layer, name_column); see docs/overlays.md",
    )

    @field_validator("overlays", mode="before")
    @classmethod
    def _overlays(cls, v: Any) -> Any:
        return [OverlayConfig.parse(item) for item in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if self.rasters is None and self.datasets is None:
            raise ValueError(
                _(
                    "no forest-loss raster: give the Hansen loss-year and tree-cover rasters (screen --loss-year and "
                    "--tree-cover; 'rasters: {loss_year: ..., tree_cover: ...}' in a config file) or named products "
                    "under 'datasets'"
                )
            )
        if self.rasters is not None and self.datasets is not None:
            raise ValueError(_("give either 'rasters' (one Hansen product) or 'datasets' (named products), not both"))
        if self.datasets is not None:
            if not self.datasets:
                raise ValueError(_("'datasets' is empty"))
            for name in self.datasets:
                if not _NAME.match(name):
                    raise ValueError(
                        tr(
                            "dataset name {name!r}: use lower-case letters, digits and '_' "
                            "(it prefixes output columns)",
                            name=name,
                        )
                    )
            first = next(iter(self.datasets))
            if isinstance(self.datasets[first], AlertDatasetConfig):
                raise ValueError(
                    tr(
                        "the first dataset ({first}) is the primary product and must be a forest-loss product; "
                        "list alert products after it",
                        first=first,
                    )
                )
            if self.alerts is not None and GFW_ALERTS_NAME in self.datasets:
                raise ValueError(
                    tr("'alerts' adds the product {name!r}, which 'datasets' already names", name=GFW_ALERTS_NAME)
                )
        for name, ds in self.dataset_configs().items():
            if ds.last_year is not None and self.screening.reference_year >= ds.last_year:
                raise ValueError(
                    tr(
                        "screening.reference_year ({year}) must be before the last_year of {name} ({last}): "
                        "nothing after it could be seen",
                        year=self.screening.reference_year,
                        name=name,
                        last=ds.last_year,
                    )
                )
        names = [o.name for o in self.overlays]
        if len(set(names)) < len(names):
            raise ValueError(tr("overlay names must differ: {names}", names=", ".join(names)))
        return self

    def dataset_configs(self) -> dict[str, DatasetConfig]:
        """Every forest-loss product by name, the primary first (``rasters`` is the product ``hansen``)."""
        if self.datasets is not None:
            return {k: v for k, v in self.datasets.items() if isinstance(v, DatasetConfig)}
        assert self.rasters is not None  # the validator makes sure one of the two is given
        return {"hansen": self.rasters.as_dataset()}

    def class_map_configs(self) -> dict[str, ClassMapDatasetConfig]:
        """Every map of the cut-off day (``kind: forest_cover`` or ``land_use``) by name, in order."""
        return {k: v for k, v in (self.datasets or {}).items() if isinstance(v, ClassMapDatasetConfig)}

    def alert_configs(self) -> dict[str, AlertDatasetConfig]:
        """Every alert product by name, in order (``alerts`` is the product ``gfw_integrated``, last)."""
        out = {k: v for k, v in (self.datasets or {}).items() if isinstance(v, AlertDatasetConfig)}
        if self.alerts is not None:
            out[GFW_ALERTS_NAME] = self.alerts.as_dataset()
        return out

    def resolve_paths(self, base: Path) -> RunConfig:
        """A copy with relative paths (not URLs) made absolute against ``base``."""
        data = self.model_dump()
        data["plots"]["path"] = _fix(self.plots.path, base)
        data["output"]["path"] = _fix(self.output.path, base)
        sections = [data["rasters"]] if data.get("rasters") else list((data.get("datasets") or {}).values())
        if data.get("alerts"):
            sections.append(data["alerts"])
        for section in sections:
            for key in (
                "loss_year",
                "tree_cover",
                "datamask",
                "forest_mask",
                "alerts",
                "confidence_layer",
                "path",
                "forest",
                "land_use",
            ):
                if section.get(key) is not None:
                    section[key] = _fix_spec(section[key], base)
        if self.baseline is not None:
            data["baseline"] = self.baseline.resolve_paths(base).model_dump()
        for export in data.get("exports") or []:
            export["out"] = _fix(export["out"], base)
        for overlay in data.get("overlays") or []:
            overlay["file"] = _fix(overlay["file"], base)
        if self.report is not None:
            data["report"]["out"] = _fix(self.report.out, base)
            if self.report.eudr is not None:
                data["report"]["eudr"] = _fix(self.report.eudr, base)
        if self.reviews is not None:
            data["reviews"] = _fix(self.reviews, base)
        return RunConfig.model_validate(data)


#: Pydantic's errors a person meets in a config, by type: one sentence each, shown in Spanish
#: (English keeps pydantic's own words); the placeholders are the error's context.
VALIDATION_MESSAGES = {
    "missing": N_("required, but not given"),
    "extra_forbidden": N_("unknown key (check the spelling; see configs/sample.yaml for the known keys)"),
    "greater_than_equal": N_("must be at least {ge}"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be at most {le}"),
    "less_than": N_("must be less than {lt}"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "literal_error": N_("must be one of {expected}"),
    "enum": N_("must be one of {expected}"),
    "string_type": N_("must be a text"),
    "date_from_datetime_parsing": N_("must be a date (YYYY-MM-DD)"),
    "date_parsing": N_("must be a date (YYYY-MM-DD)"),
}


def _validation_message(err: Any) -> str:
    """One pydantic error in words, in the language in use."""
    msg = err["msg"].removeprefix("Value error, ")
    text = VALIDATION_MESSAGES.get(err["type"])
    ctx = err.get("ctx") or {}
    if err["type"] == "extra_forbidden":
        return _(VALIDATION_MESSAGES["extra_forbidden"])
    if language() == "en" or text is None:
        return _(msg)
    names = [n for _l, n, _s, _c in Formatter().parse(text) if n]
    if any(n not in ctx for n in names):
        return _(msg)
    return tr(text, **{n: ctx[n] for n in names})


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Every error of a config, each naming its key, in the language in use."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) >= 3 and loc[0] == "datasets" and loc[2] in ("loss", "alerts"):
            del loc[2]  # the tag of the kind of product, not a key of the file
        where = ".".join(str(p) for p in loc) or _("(top level)")
        lines.append(f"{where}: {_validation_message(err)}")
    return tr("{source}: invalid configuration: {errors}", source=source, errors="; ".join(lines))


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str = "<arguments>") -> Any:
    """``model.model_validate(data)``, raising :class:`ConfigError` naming every bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def build_config(data: dict[str, Any], source: str = "<arguments>") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming every bad key."""
    config: RunConfig = validate_model(RunConfig, _upgrade(data, source), source)
    return config


def _upgrade(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Accept the older spelling of the execution settings: top-level ``workers`` and ``scheduler``."""
    moved = {k: data[k] for k in ("workers", "scheduler") if k in data}
    if not moved:
        return data
    data = {k: v for k, v in data.items() if k not in moved}
    execution = dict(data.get("execution") or {})
    for key, value in moved.items():
        if key in execution:
            raise ConfigError(
                tr(
                    "{source}: '{key}' is given both at the top level and in 'execution'; keep execution.{key}",
                    source=source,
                    key=key,
                )
            )
        execution[key] = value
    data["execution"] = execution
    return data


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """``data["a"]["b"] = value`` for ``dotted`` = ``"a.b"``, creating the sections on the way."""
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[leaf] = value
