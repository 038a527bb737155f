"""``--help`` of the commands with many options (``screen``, ``run``), in groups: input, forest
definition, rules and quality control, output, execution."""

from __future__ import annotations

import click

from ..config import ForestDefinition

#: The groups, in the order ``--help`` lists them.
GROUPS = ("Input", "Forest definition", "Rules and quality control", "Output", "Execution")


def group_of(name: str) -> str:
    """The group of an option, by its parameter name (the config key with ``__`` for dots)."""
    section, _, field = name.partition("__")
    if section in ("plots", "rasters", "alerts", "datasets", "config_path"):
        return "Input"
    if section == "screening":
        return "Forest definition" if field in ForestDefinition.model_fields else "Rules and quality control"
    if section == "qc":
        return "Rules and quality control"
    if section == "output":
        return "Output"
    return "Execution"


class GroupedCommand(click.Command):
    """A command whose options ``--help`` lists under headings (:data:`GROUPS`)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                rows[group_of(param.name or "")].append(record)
        for group in GROUPS:
            if rows[group]:
                with formatter.section(f"{group} options"):
                    formatter.write_dl(rows[group])
