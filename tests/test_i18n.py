"""Languages: the catalogs (complete, placeholders kept, compiled in step, shipped), the choice of
language, numbers and dates by locale, reasons rendered again in another language, an error in
Spanish, and what is never translated (status codes, column names)."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from babel.messages.pofile import read_po
from conftest import cli_main as main
from test_cli import small_job  # noqa: F401  (a fixture)

from pipeline import i18n, reasons
from pipeline.i18n import LANGUAGES, LOCALE_DIR, fmt, format_date, format_number, language_from_env, tr, using
from pipeline.reasons import REASONS, placeholders
from pipeline.vocab import STATUS_LABELS, STATUSES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import i18n as catalogs  # noqa: E402  (tools/i18n.py)

SPANISH = [lang for lang in LANGUAGES if lang != "en"]


def entries(lang: str):
    with open(catalogs.po_path(lang), "rb") as f:
        return [m for m in read_po(f) if m.id]


def problems(message) -> list[str]:
    """What is wrong with one catalog entry: a missing or empty translation, or placeholders that
    differ from the message id's (``{n}`` dropped, ``{n}`` renamed, one added)."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    if not all(strings):
        return [f"no translation for {ids[0]!r}"]
    wanted = set().union(*(placeholders(i) for i in ids))
    out = []
    for s in strings:
        got = placeholders(s)
        if got != wanted:
            out.append(f"{ids[0]!r}: placeholders {sorted(got)} in the translation, {sorted(wanted)} in the id")
    return out


@pytest.mark.parametrize("lang", SPANISH)
def test_every_message_has_a_translation_with_the_same_placeholders(lang):
    found = [p for m in entries(lang) for p in problems(m)]
    assert not found, "\n".join(found[:20])
    assert len(entries(lang)) > 300


def test_every_message_of_the_code_is_in_the_catalog_with_its_translation():
    """What `make i18n` would extract from the code (and the command line) is all in the catalog,
    translated: a new sentence without its Spanish fails here (run `make i18n`, then translate)."""
    have = {m.id: m for m in entries("es")}
    missing = [m.id for m in catalogs.template() if m.id and (m.id not in have or problems(have[m.id]))]
    assert not missing, f"{len(missing)} message(s) not translated, e.g. {missing[:5]}"


def test_a_missing_translation_or_placeholder_is_caught():
    class Entry:
        def __init__(self, id, string):
            self.id, self.string = id, string

    assert problems(Entry("{n} plots", "{n} parcelas")) == []
    assert problems(Entry("{n} plots", "")) == ["no translation for '{n} plots'"]
    assert problems(Entry("{n} plots", "parcelas")) and problems(Entry("{n} plots", "{m} parcelas"))
    assert problems(Entry("{loss_ha:ha} ha", "{loss_ha:.2f} ha")) == []  # the format may differ, not the name
    assert problems(Entry(("{n} plot", "{n} plots"), ("{n} parcela", "parcelas", "{n} parcelas")))


@pytest.mark.parametrize("lang", SPANISH)
def test_the_compiled_catalog_is_the_po_file_compiled(lang):
    assert catalogs.mo_path(lang).read_bytes() == catalogs.compiled(lang), "run `make i18n`"


def test_the_compiled_catalogs_ship_in_the_package():
    """The wheel (and so a fresh `make install`) takes the .mo files: pyproject's package data names them."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pipeline"]
    for lang in SPANISH:
        mo = catalogs.mo_path(lang).relative_to(ROOT / "pipeline").as_posix()
        assert any(fnmatch.fnmatch(mo, pattern) for pattern in data), mo
    assert (LOCALE_DIR / "es" / "LC_MESSAGES" / "cacao_screen.mo").is_file()
    assert not (ROOT / ".gitignore").exists() or "*.mo" not in (ROOT / ".gitignore").read_text().split()


def test_every_reason_is_a_message_with_a_translation():
    ids = {m.id for m in entries("es")}
    assert set(REASONS.values()) <= ids
    es = {m.id: m.string for m in entries("es")}
    for code, text in REASONS.items():
        assert placeholders(es[text]) == placeholders(text), code


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "en"),
        ({"LANG": "es_PE.UTF-8"}, "es"),
        ({"LANG": "es"}, "es"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "es_PE.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL wins
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "es_ES.UTF-8"}, "es"),
        ({"LC_ALL": "", "LANG": "es_MX"}, "es"),  # empty is unset
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # no French catalog: English
    ],
)
def test_the_language_comes_from_the_environment(env, expected):
    assert language_from_env(env) == expected


def test_an_unknown_language_is_refused():
    assert i18n.normalise("es_PE.UTF-8") == "es" and i18n.normalise(None) is None
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.normalise("fr")


def test_numbers_and_dates_follow_the_language():
    with using("en"):
        assert format_date(dt.date(2026, 3, 2)) == "March 2, 2026"
        assert format_number(4843.478) == "4,843.48"
        assert fmt("{x:.2f} ha, {y:ha} ha", x=1234.5, y=0.00123) == "1234.50 ha, 0.0012 ha"
    with using("es"):
        assert format_date(dt.date(2026, 3, 2)) == "2 de marzo de 2026"
        assert format_date("2020-12-31") == "31 de diciembre de 2020"
        assert format_number(4843.478) == "4\u00a0843,48"  # Peru: decimal comma, digits grouped by a space
        assert fmt("{x:.2f} ha, {y:ha} ha in {year}", x=1234.5, y=0.00123, year=2022) == "1234,50 ha, 0,0012 ha in 2022"
        assert fmt("{s}", s="v1.12") == "v1.12"  # only numbers change
        assert tr("Screened {n} plots -> {path}", n=3, path="a.gpkg") == "Evaluadas 3 parcelas -> a.gpkg"
    assert i18n.language() == "en" or os.environ.get("LANG", "").startswith("es")


def test_a_message_filled_for_many_rows_reads_as_fmt_writes_it():
    """``formatter`` (a template translated once, filled per row) gives what ``fmt`` gives, numpy
    numbers included; ids and other text are never reformatted."""
    text = "plot {id!r}: {n:,} rows, {a:.4f} ha, {h:ha} ha, {pct:+.1f} %, year {year}, {flag}"
    rows = [
        dict(id="1.5", n=np.int64(12345), a=np.float64(1234.5), h=0.00123, pct=-3.25, year=2022, flag=True),
        dict(id="P-1", n=7, a=0.0, h=np.float32(2.5), pct=np.float64(10.0), year=np.int64(2020), flag="x.y"),
    ]
    for lang in ("en", "es"):
        with using(lang):
            fill = i18n.formatter(text)
            assert [fill(**r) for r in rows] == [fmt(text, **r) for r in rows]
    with using("es"):
        assert i18n.formatter(text)(**rows[0]) == (
            "plot '1.5': 12\u00a0345 rows, 1234,5000 ha, 0,0012 ha, -3,2 %, year 2022, True"
        )


def test_the_status_legend_reads_in_spanish():
    with using("es"):
        labels = [i18n._(STATUS_LABELS[s]) for s in STATUSES]
    assert labels == ["libre de deforestación", "revisar", "deforestación detectada", "no evaluado", "inválido"]


def test_a_reason_is_rendered_again_in_another_language():
    parts = [
        reasons.part("loss_detected", loss_ha=0.2734, reference_year=2020, review_max_ha=0.1),
        reasons.part("first_loss_year", year=2022),
    ]
    stored = reasons.encode(parts)
    assert reasons.decode(stored) == parts
    assert reasons.render(stored, "en") == (
        "0.27 ha of forest lost after 2020, more than the 0.1 ha review tolerance; first loss in 2022"
    )
    assert reasons.render(stored, "es") == (
        "0,27 ha de bosque perdidas después de 2020, más que la tolerancia de revisión de 0,1 ha; "
        "primera pérdida en 2022"
    )
    with pytest.raises(KeyError, match="takes"):
        reasons.part("loss_detected", loss_ha=1.0)
    with pytest.raises(KeyError, match="unknown reason code"):
        reasons.part("no_such_reason")
    assert reasons.render('[{"code": "from_a_newer_version"}]', "es") == "from_a_newer_version"


@pytest.mark.slow
def test_an_error_comes_out_in_spanish_under_a_spanish_locale(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in i18n.ENV_VARS and k != i18n.ENV_CHOICE}
    env["LANG"] = "es_PE.UTF-8"
    missing = tmp_path / "no_such_plots.gpkg"
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", str(missing)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 2  # the exit code does not change with the language
    assert f"cacao-screen: error: {missing}: archivo de parcelas no encontrado" in run.stderr
    run_en = subprocess.run(
        [sys.executable, "-m", "pipeline", "--lang", "en", "validate", str(missing)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert run_en.returncode == 2 and f"{missing}: plots file not found" in run_en.stderr


def test_a_plots_file_refused_says_why_in_spanish(tmp_path, capsys):
    """The refusals of the plots readers, and the readers' notes on rows, are Spanish under --lang es."""
    table = tmp_path / "parcelas.csv"
    table.write_text("plot_id,foo\nA,1\n", encoding="utf-8")
    assert main(["--lang", "es", "validate", str(table)]) == 2  # same exit code as in English
    assert "sin geometría: se esperaba una columna WKT (wkt" in capsys.readouterr().err
    table.write_text("plot_id,wkt\nA,POLYGON((0 0\nB,POINT (-76.2 -8.1)\n", encoding="utf-8")
    out = tmp_path / "hallazgos.csv"
    assert main(["--lang", "es", "validate", str(table), "--crs", "EPSG:4326", "--out", str(out)]) == 3
    found = pd.read_csv(out)
    note = found.loc[found["code"] == "unreadable_geometry", "message"].iloc[0]
    assert note.startswith("la geometría 'POLYGON((0 0' no se puede leer: ")
    job = tmp_path / "trabajo.yaml"
    job.write_text("plots:\n  path: a.gpkg\nplots:\n  path: b.gpkg\n", encoding="utf-8")
    assert main(["--lang", "es", "run", "--config", str(job)]) == 2
    assert "la clave 'plots' aparece dos veces (líneas 1 y 3)" in capsys.readouterr().err


def test_help_speaks_the_language_chosen(capsys):
    assert main(["--lang", "es", "screen", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Uso: cacao-screen screen") and "Opciones de entrada:" in out  # grouped (issue 24)
    assert "Evalúa las parcelas de --plots" in out and "--review-max-ha" in out  # options keep their names
    assert "deforestation_free " in out  # the status codes stay as they are
    assert main(["screen", "--help"]) == 0  # the language does not stick between commands
    assert capsys.readouterr().out.startswith("Usage: cacao-screen screen")


def test_a_spanish_screening_has_the_figures_codes_and_columns_of_the_english_one(small_job, capsys):  # noqa: F811
    from test_cli import screen_args

    from pipeline.io.gpkg_style import described_columns

    en_job = dict(small_job, out=small_job["tmp"] / "en" / "screening.gpkg")
    es_job = dict(small_job, out=small_job["tmp"] / "es" / "screening.gpkg")
    assert main(screen_args(en_job)) == 0
    capsys.readouterr()
    config = {  # the language from the job config (output.language)
        "plots": {"path": str(small_job["plots"])},
        "rasters": {"loss_year": str(small_job["loss"]), "tree_cover": str(small_job["cover"])},
        "output": {"path": str(es_job["out"]), "language": "es"},
    }
    (small_job["tmp"] / "es.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "--config", str(small_job["tmp"] / "es.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Evaluadas 9 parcelas ->" in out and "pérdida tras 2020 (ha)" in out
    assert "deforestation_detected" in out  # the status codes stay as they are
    en = pyogrio.read_dataframe(en_job["out"], layer="plots").sort_values("source_row", ignore_index=True)
    es = pyogrio.read_dataframe(es_job["out"], layer="plots").sort_values("source_row", ignore_index=True)
    assert list(en.columns) == list(es.columns)  # column names are never translated
    reason = ["status_reason", "status_reason_params", "qc_summary"]  # words; compared below
    pd.testing.assert_frame_equal(en.drop(columns=reason + ["geometry"]), es.drop(columns=reason + ["geometry"]))
    # the parts of the reasons are the same, but for the quality-control message quoted by an invalid
    # plot's reason: written in the screening's language, as in plot_issues
    parts_en, parts_es = (frame["status_reason_params"].map(json.loads) for frame in (en, es))
    for a, b in zip(parts_en, parts_es):
        assert [{k: v for k, v in p.items() if k != "problem_text"} for p in a] == [
            {k: v for k, v in p.items() if k != "problem_text"} for p in b
        ]
    invalid = es["status"] == "invalid"
    assert invalid.any() and es.loc[invalid, "status_reason_params"].str.contains("la fila no tiene geometría").all()
    # the quality-control findings: the same codes on the same rows, their messages in Spanish
    issues_en, issues_es = (pyogrio.read_dataframe(j["out"], layer="plot_issues") for j in (en_job, es_job))
    keys = ["plot_id", "source_row", "code", "severity"]
    pd.testing.assert_frame_equal(issues_en[keys], issues_es[keys])
    assert (issues_en["message"] != issues_es["message"]).all()
    said = dict(zip(issues_es["code"], issues_es["message"]))
    assert "el plot_id 'dup' se usa también en la(s) fila(s) 9" in set(issues_es["message"])
    assert said["geometry_repaired"].startswith("polígono inválido (Autointersección[")
    assert "calculadas 0,3429 ha (-93,1 %)" in " ".join(issues_es["message"])  # numbers as Spanish writes them
    assert (en["status_reason"] != es["status_reason"]).all()
    for stored, text_en, text_es, status in zip(
        es["status_reason_params"], en["status_reason"], es["status_reason"], es["status"]
    ):
        assert reasons.render(stored, "es") == text_es
        if status != "invalid":  # an invalid plot's reason quotes its QC message as written, in Spanish
            assert reasons.render(stored, "en") == text_en
    detected = es.loc[es["status"] == "deforestation_detected", "status_reason"].iloc[0]
    assert "ha de bosque perdidas después de 2020" in detected and "primera pérdida en 2022" in detected
    described = described_columns(es_job["out"])
    assert described[("plots", "status")].startswith("el veredicto: deforestation_free")
    assert described_columns(en_job["out"])[("plots", "status")].startswith("the verdict: deforestation_free")
    con = sqlite3.connect(es_job["out"])
    try:
        qml = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'plots'").fetchone()[0]
        enum = dict(con.execute("SELECT value, description FROM gpkg_data_column_constraints").fetchall())
    finally:
        con.close()
    assert 'value="deforestation_free" label="libre de deforestación"' in qml
    assert 'label="deforestación detectada"' in qml and 'label="no evaluado"' in qml
    assert enum["deforestation_free"] == "sin pérdida de bosque después del año de referencia"
    meta = dict(pyogrio.read_dataframe(es_job["out"], layer="run_metadata")[["key", "value"]].to_numpy())
    assert meta["language"] == "es"  # the choice is in the provenance
    assert (
        dict(pyogrio.read_dataframe(en_job["out"], layer="run_metadata")[["key", "value"]].to_numpy())["language"]
        == "en"
    )


def test_a_table_of_texts_translates_when_looked_up_and_writes_numbers_the_spanish_way():
    texts = i18n.Texts({"screened": i18n.N_("Screened {n} plots -> {path}")})
    with using("en"):
        assert texts["screened"].format(n="1,234", path="a.gpkg") == "Screened 1,234 plots -> a.gpkg"
    with using("es"):
        assert texts["screened"].format(n="1,234", path="v1.12") == "Evaluadas 1\u00a0234 parcelas -> v1.12"
        assert texts["screened"].format(n=2.5, path="x") == "Evaluadas 2,5 parcelas -> x"
        assert (
            i18n.localised_number_text("-1,234.56") == "-1\u00a0234,56" and i18n.localised_number_text("a.b") == "a.b"
        )
    assert list(texts) == ["screened"] and len(texts) == 1


def test_a_refused_raster_or_output_says_why_in_spanish_with_the_same_exit_code(small_job, capsys):  # noqa: F811
    """The refusals of the raster readers and of the output checks are Spanish under --lang es; the
    exit code is the one of the English refusal."""
    from test_cli import screen_args

    empty = small_job["tmp"] / "sin_rasteres"
    empty.mkdir()
    no_rasters = screen_args(small_job)
    no_rasters[no_rasters.index("--loss-year") + 1] = str(empty)
    code = main(no_rasters)
    assert code != 0 and "the folder holds no raster files" in capsys.readouterr().err
    assert main(["--lang", "es", *no_rasters]) == code
    assert "la carpeta no contiene archivos ráster (.tif" in capsys.readouterr().err
    small_job["out"].parent.mkdir()
    small_job["out"].write_text("someone else's file", encoding="utf-8")
    code = main(screen_args(small_job))
    assert code != 0 and "output already exists; pass --overwrite" in capsys.readouterr().err
    assert main(["--lang", "es", *screen_args(small_job)]) == code
    assert f"{small_job['out']}: la salida ya existe; use --overwrite para reemplazarla" in capsys.readouterr().err


def test_a_setting_refused_by_our_validators_says_why_in_spanish(tmp_path, capsys):
    job = tmp_path / "trabajo.yaml"
    job.write_text(
        "plots:\n  path: a.gpkg\nrasters:\n  loss_year: l.tif\n  tree_cover: t.tif\n"
        "execution:\n  scheduler: 'bogus thing'\n",
        encoding="utf-8",
    )
    assert main(["run", "--config", str(job)]) == 2
    assert "execution.scheduler: unknown scheduler 'bogus thing'" in capsys.readouterr().err
    assert main(["--lang", "es", "run", "--config", str(job)]) == 2
    assert "execution.scheduler: planificador desconocido 'bogus thing'" in capsys.readouterr().err
