"""Status reasons as codes and numbers: the stored parts render the same text again, in any
language, and the vectorised batch stores what the plot-by-plot path stores."""

import numpy as np
import pandas as pd
import pytest

from pipeline import reasons
from pipeline.config import ScreeningConfig
from pipeline.i18n import using
from pipeline.reasons import REASONS, Batch, part
from pipeline.stages.rules import classify, combine


def mixed_figures(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.Series]:
    """Plots of every status and reason: free with and without forest, no forest layer, review,
    detected with and without a first year, partial and no coverage, missing tiles, invalid."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 8, n)
    cov = np.where(kind == 5, rng.uniform(0, 98, n), np.where(kind == 6, 0.0, 100.0))
    after = np.select([kind == 2, kind == 3, kind == 4], [rng.uniform(0.001, 0.1, n), rng.uniform(0.2, 9, n), 0.5], 0.0)
    after = np.where(kind == 5, rng.choice([0.0, 0.3], n), after)
    forest = np.where(kind == 1, 0.0, np.where(kind == 7, np.nan, rng.uniform(0, 5, n)))
    first = pd.array(np.where((after > 0) & (kind != 4), rng.integers(2021, 2025, n), -1), dtype="Int64")
    first[first == -1] = pd.NA
    fig = pd.DataFrame(
        {
            "data_coverage_pct": cov,
            "loss_after_ref_ha": after,
            "forest_2000_ha": forest,
            "first_loss_year_after_ref": first,
            "_missing_pct": np.where(kind == 5, 100 - cov, 0.0),
            "_invalid_pct": 0.0,
        }
    )
    invalid = pd.Series(np.where(kind == 0, "the row has no geometry, or an empty one", ""))
    invalid[np.arange(n) % 9 != 0] = ""  # a few invalid plots only
    return fig, invalid


def test_every_stored_reason_renders_its_text_again_in_both_languages():
    fig, invalid = mixed_figures(400)
    params = ScreeningConfig()
    en = classify(fig, invalid, params)
    with using("es"):
        es = classify(fig, invalid, params)
    assert set(en["status"]) == {"deforestation_free", "review", "deforestation_detected", "not_assessed", "invalid"}
    assert (en["status_reason_params"] == es["status_reason_params"]).all()  # the stored parts: no language
    assert (en["status_reason_code"] == es["status_reason_code"]).all()
    for stored, text_en, text_es in zip(en["status_reason_params"], en["status_reason"], es["status_reason"]):
        assert reasons.render(stored, "en") == text_en
        assert reasons.render(stored, "es") == text_es
        assert reasons.decode(stored)[0]["code"] in REASONS
    codes = set(en["status_reason_code"])
    assert {"no_loss_forest", "no_loss_no_forest", "no_loss", "loss_review", "loss_detected"} <= codes
    assert {"partial_coverage", "no_data_nodata", "geometry_invalid"} <= codes
    first_years = [p for s in en["status_reason_params"] for p in reasons.decode(s) if p["code"] == "first_loss_year"]
    assert first_years and all(isinstance(p["year"], int) for p in first_years)


def test_the_batch_stores_what_one_plot_at_a_time_stores():
    rng = np.random.default_rng(3)
    loss = rng.uniform(0, 3, 50)
    loss[:3] = [0.004999999, 1234.5678, 0.0]
    batch = Batch(60)
    batch.add(np.arange(50), ("loss_detected", dict(loss_ha=loss, reference_year=2020, review_max_ha=0.1)))
    singles = [
        [part("alerts_not_counted", alert_ha=0.01 * i, level_text="low", min_confidence="high")] for i in range(5)
    ]
    singles += [[part("partial_coverage", coverage_pct=50.5, min_pct=99), part("first_loss_year", year=2022)]] * 5
    for i, parts in enumerate(singles):
        batch.add_each(50 + i, parts)
    expected = [[part("loss_detected", loss_ha=x, reference_year=2020, review_max_ha=0.1)] for x in loss] + singles
    for lang in ("en", "es"):
        with using(lang):
            got, want = batch.columns(), reasons.columns(expected)
        for column in reasons.REASON_COLUMNS:
            assert list(got[column]) == list(want[column]), column
    assert (
        got["status_reason"][1]
        == "1234,57 ha de bosque perdidas después de 2020, más que la tolerancia de revisión de 0,1 ha"
    )
    assert got["status_reason"][50] == "0,0000 ha de alertas de confianza baja no contadas (min_confidence high)"


def test_several_products_name_the_deciding_ones_and_store_their_parts():
    fig, invalid = mixed_figures(90, seed=11)
    params = ScreeningConfig()
    a = classify(fig, invalid, params)
    b = classify(fig.assign(loss_after_ref_ha=0.0, first_loss_year_after_ref=pd.NA), invalid, params)
    both = combine({"hansen": a, "tmf": b})
    detected = both[both["status"] == "deforestation_detected"].iloc[0]
    assert detected["status_reason"].startswith("hansen: ")
    assert detected["status_reason"].endswith(
        "statuses by product: hansen: deforestation_detected, tmf: deforestation_free"
    )
    parts = reasons.decode(detected["status_reason_params"])
    assert parts[0]["product"] == "hansen" and parts[-1]["code"] == "product_statuses"
    free = both[both["status"] == "deforestation_free"].iloc[0]
    assert (
        free["status_reason"].startswith("hansen: no forest loss after 2020")
        and "; tmf: no forest loss" in free["status_reason"]
    )
    for stored, text in zip(both["status_reason_params"], both["status_reason"]):
        assert reasons.render(stored, "en") == text
    inv = both[both["status"] == "invalid"]
    assert len(inv) and (inv["status_reason"] == a.loc[inv.index, "status_reason"]).all()


def test_a_parameter_missing_or_unknown_is_refused_where_the_reason_is_built():
    with pytest.raises(KeyError, match="takes"):
        Batch(1).add([0], ("no_loss_forest", dict(reference_year=2020)))
    with pytest.raises(KeyError, match="unknown reason code"):
        Batch(1).add([0], ("no_such_code", {}))


def test_reasons_render_again_in_another_language_and_older_rows_keep_their_text():
    fig, invalid = mixed_figures(120, seed=5)
    en = classify(fig, invalid, ScreeningConfig())
    with using("es"):
        es = classify(fig, invalid, ScreeningConfig())
        texts = en["status_reason"].tolist() + ["an older screening's reason", None]
        stored = en["status_reason_params"].tolist() + [None, ""]
        again = reasons.rendered(texts, stored)
    assert list(again[:120]) == es["status_reason"].tolist()
    assert list(again[120:]) == ["an older screening's reason", None]


def test_a_screening_frame_gets_every_reason_column_in_the_language_in_use():
    fig, invalid = mixed_figures(30, seed=2)
    en = classify(fig, invalid, ScreeningConfig())
    frame = pd.concat([en, en[list(reasons.REASON_COLUMNS)].add_prefix("tmf_")], axis=1)
    frame["other_reason"] = "kept"
    with using("es"):
        es = classify(fig, invalid, ScreeningConfig())
        again = reasons.in_language(frame)
    assert again["status_reason"].tolist() == es["status_reason"].tolist()
    assert again["tmf_status_reason"].tolist() == es["status_reason"].tolist()
    assert (again["other_reason"] == "kept").all() and frame["status_reason"].tolist() == en["status_reason"].tolist()
