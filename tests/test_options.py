"""Command-line options are generated from the config models: one declaration per parameter."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pydantic import Field

from pipeline.cli import options as opts
from pipeline.cli.app import cli
from pipeline.config import (
    ExecutionConfig,
    OutputConfig,
    PlotsConfig,
    QCConfig,
    RastersConfig,
    RunConfig,
    ScreeningConfig,
)


@pytest.mark.parametrize(
    "section, model",
    [
        ("plots", PlotsConfig),
        ("rasters", RastersConfig),
        ("screening", ScreeningConfig),
        ("qc", QCConfig),
        ("output", OutputConfig),
        ("execution", ExecutionConfig),
    ],
)
def test_every_field_of_a_screening_job_has_an_option_with_its_description(section, model):
    keys = {o.key: o for o in opts.SCREEN_OPTIONS}
    for name, field in model.model_fields.items():
        if opts._model_of(field.annotation) is not None:  # a nested section: in the YAML file only
            assert f"{section}.{name}" not in keys and field.description
            continue
        assert f"{section}.{name}" in keys, f"{section}.{name} has no command-line option"
        assert field.description, f"{section}.{name} has no description"
        meaning, default = keys[f"{section}.{name}"].describe()
        assert meaning and default


def test_a_new_field_gets_its_option_help_and_docs_row():
    class Richer(ScreeningConfig):
        review_max_share_pct: float = Field(5.0, ge=0, le=100, description="Loss up to this share gives 'review'")

    class RicherJob(RunConfig):
        screening: Richer = Richer()

    made = opts.section_options("screening", Richer, root=RicherJob)
    new = [o for o in made if o.key == "screening.review_max_share_pct"]
    assert len(new) == 1 and new[0].flag == "--review-max-share-pct"

    @click.command()
    @opts.apply(new)
    def cmd(**kwargs):
        click.echo(opts.given(new, kwargs))

    runner = CliRunner()
    assert "Loss up to this share gives 'review'. [default: 5]" in " ".join(
        runner.invoke(cmd, ["--help"]).output.split()
    )
    assert (
        runner.invoke(cmd, ["--review-max-share-pct", "7.5"]).output.strip()
        == "{'screening.review_max_share_pct': 7.5}"
    )
    assert runner.invoke(cmd, []).output.strip() == "{}"  # not given: the model's default applies


def test_switches_and_defaults_that_the_models_compute():
    by_flag = {o.flag: o for o in opts.SCREEN_OPTIONS}
    assert by_flag["--no-repair"].switch is False and by_flag["--fix-swapped-coordinates"].switch is True
    assert by_flag["--last-year"].describe()[1].startswith("from the Hansen file names")
    assert by_flag["--reference-year"].describe()[1] == "2020"
    regions = {o.flag: o for o in opts.BASELINE_OPTIONS}["--regions"]
    assert regions.describe()[1] == "none"  # required inside its section, but the section is optional


def test_run_overrides_are_given_keys_only_with_paths_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs = {o.dest: None for o in opts.RUN_OPTIONS}
    kwargs.update({"output__path": Path("x/out.gpkg"), "screening__canopy_operator": ">=", "qc__repair_invalid": False})
    got = opts.given(opts.RUN_OPTIONS, kwargs, absolute_paths=True)
    assert got == {
        "output.path": tmp_path / "x" / "out.gpkg",
        "screening.canopy_operator": ">=",
        "qc.repair_invalid": False,
    }


def test_the_cli_passes_generated_options_into_the_job(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cfg, progress=False, invocation=None):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr("pipeline.job.run", fake_run)
    args = [
        "screen",
        "--plots",
        "p.gpkg",
        "--loss-year",
        "l.tif",
        "--tree-cover",
        "c.tif",
        "--canopy-operator",
        ">=",
        "--min-forest-patch-ha",
        "0.5",
        "--no-repair",
        "--workers",
        "3",
        "--scheduler",
        "processes",
    ]
    CliRunner().invoke(cli, args)
    cfg = seen["cfg"]
    assert cfg.screening.canopy_operator == ">=" and cfg.screening.min_forest_patch_ha == 0.5
    assert cfg.qc.repair_invalid is False and cfg.execution == ExecutionConfig(workers=3, scheduler="local")
