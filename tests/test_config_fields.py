"""Every config field is read somewhere outside pipeline/config: a field nobody reads is an option
that does nothing (as ``report.max_table_rows`` was)."""

from __future__ import annotations

import ast
from pathlib import Path

from pydantic import BaseModel

import pipeline.config as config

ROOT = Path(__file__).resolve().parents[1] / "pipeline"

#: Fields read only through the model's own methods in config/ (each says where it is used).
READ_IN_CONFIG = {
    "RastersConfig.*": "as_dataset() turns the Hansen shorthand into a DatasetConfig",
    "AlertsConfig.*": "as_dataset() turns the alerts shorthand into an AlertDatasetConfig",
    "AlertEncoding.preset": "describe() names it, in the screening's metadata (<product>_product_kind)",
}


def _models() -> list[type[BaseModel]]:
    return sorted(
        {v for v in vars(config).values() if isinstance(v, type) and issubclass(v, BaseModel)}, key=lambda m: m.__name__
    )


def _read_outside_config() -> set[str]:
    """Attribute names read, and string constants, in every module of pipeline/ outside config/."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "config" in path.relative_to(ROOT).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(node.value.replace(".", " ").split())
    return names


def _unread(models: list[type[BaseModel]]) -> list[str]:
    read = _read_outside_config()
    return [
        f"{model.__name__}.{field}"
        for model in models
        for field in model.model_fields
        if field not in read and not {f"{model.__name__}.*", f"{model.__name__}.{field}"} & set(READ_IN_CONFIG)
    ]


def test_every_config_field_is_read_outside_config():
    unread = _unread(_models())
    assert not unread, f"config fields nothing outside pipeline/config reads: {unread}"


def test_the_check_would_catch_an_unread_field():
    class ReportConfig(config.ReportConfig):  # a report option added, and wired nowhere
        rows_in_the_appendix: int = 10

    assert _unread([ReportConfig]) == ["ReportConfig.rows_in_the_appendix"]
