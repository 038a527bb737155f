"""The run configuration: pydantic models, the only parameter objects of cacao-screen.

Each section of the YAML file is a frozen model, and the library takes those models themselves:
the quality control takes a :class:`QCConfig`, the engine a :class:`ForestDefinition` (which every
:class:`ScreeningConfig` is), the schedulers an :class:`ExecutionConfig`. A parameter is declared
once, as a field with its type, default and ``description``; the command-line options
(:mod:`pipeline.cli.options`) and the options table of ``docs/usage.md`` are generated from the
fields, so adding a parameter means adding the field and using it.

Relative paths in a config file are resolved against the folder holding the file, so a scheduled
job gives the same result whatever its working directory. Unknown keys are errors (a typo must
not silently fall back to a default). Nothing else in the package knows YAML.
"""

from .inputs import (
    ALERT_PRESETS,
    GFW_ALERTS_NAME,
    AlertDatasetConfig,
    AlertEncoding,
    AlertsConfig,
    AnyDataset,
    ClassMapDatasetConfig,
    ConfidenceLevel,
    DatasetConfig,
    LayerSpec,
    PlotsConfig,
    RastersConfig,
)
from .load import load_config
from .outputs import (
    EXPORT_FORMATS,
    LOCAL,
    THREADS,
    BaselineConfig,
    DeliveriesConfig,
    ExecutionConfig,
    ExportConfig,
    OutputConfig,
    RegionsConfig,
    ReportConfig,
    parse_scheduler,
)
from .overlays import OverlayConfig
from .run import RunConfig, build_config, format_validation_error, set_dotted, validate_model
from .screening import ForestAtCutoffConfig, ForestDefinition, QCConfig, ScreeningConfig

__all__ = [
    "ALERT_PRESETS",
    "AlertDatasetConfig",
    "AlertEncoding",
    "AlertsConfig",
    "AnyDataset",
    "ClassMapDatasetConfig",
    "BaselineConfig",
    "ConfidenceLevel",
    "DatasetConfig",
    "DeliveriesConfig",
    "ExecutionConfig",
    "EXPORT_FORMATS",
    "ExportConfig",
    "ForestAtCutoffConfig",
    "OverlayConfig",
    "ForestDefinition",
    "GFW_ALERTS_NAME",
    "LOCAL",
    "LayerSpec",
    "OutputConfig",
    "PlotsConfig",
    "QCConfig",
    "RastersConfig",
    "RegionsConfig",
    "ReportConfig",
    "RunConfig",
    "ScreeningConfig",
    "THREADS",
    "build_config",
    "format_validation_error",
    "load_config",
    "parse_scheduler",
    "set_dotted",
    "validate_model",
]
