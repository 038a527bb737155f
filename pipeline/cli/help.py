"""``--help`` of the commands with many options (``screen``, ``run``), in groups: input, forest
definition, rules and quality control, output, execution."""

from __future__ import annotations

import click

from ..config import ForestDefinition
from ..i18n import N_, _
from .app import Command

#: The groups, in the order ``--help`` lists them.
GROUPS = ("Input", "Forest definition", "Rules and quality control", "Output", "Execution")
#: Their headings.
HEADINGS = {
    "Input": N_("Input options"),
    "Forest definition": N_("Forest definition options"),
    "Rules and quality control": N_("Rules and quality control options"),
    "Output": N_("Output options"),
    "Execution": N_("Execution options"),
}


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


class GroupedCommand(Command):
    """A command whose options ``--help`` lists under headings (:data:`GROUPS`), in the language
    in use."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                rows[group_of(param.name or "")].append(record)
        for group in GROUPS:
            if rows[group]:
                with formatter.section(_(HEADINGS[group])):
                    formatter.write_dl(rows[group])
