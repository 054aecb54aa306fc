"""The issues' "done when" statements, run literally on the shipped demo records."""

import json
import math
from pathlib import Path

import pytest

from outcomes import cli

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def effect_rows():
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["effects", str(DEMO), "--json"]) == 0
    return json.loads(buf.getvalue())


def test_effects_json_carries_every_model_for_every_measure(effect_rows):
    """Issue 6: ipw, mixed and (grade scales) ordinal rows beside naive and adjusted."""
    for measure in ("pore", "texture"):
        models = {r["model"] for r in effect_rows if r["measure"] == measure}
        assert {"naive", "adjusted", "mixed", "ipw", "ordinal"} <= models, (measure, models)


def test_every_interval_is_finite_and_ordered(effect_rows):
    for r in effect_rows:
        if r["model"] in ("naive", "adjusted", "mixed", "ipw", "ordinal"):
            lo, est, hi = r["ci_low"], r["estimate"], r["ci_high"]
            assert all(v is not None and math.isfinite(v) for v in (lo, est, hi)), r
            assert lo <= est <= hi, r
            assert r["n"] > 0


def test_effects_human_output_answers_in_plain_words(capsys):
    """Issue 5: naive and adjusted answers as sentences, with exclusions counted."""
    assert cli.main(["effects", str(DEMO), "--measure", "pore"]) == 0
    out = capsys.readouterr().out
    assert "Comparing patients as they are, each additional session a month went with" in out
    assert "after adjusting for baseline rating" in out
    assert "95% CI" in out and "excluded, no landmark in window" in out


def test_adjusted_is_closer_to_the_simulated_truth_than_naive(effect_rows):
    """On the demo the adjusted pore CI covers the simulator's interventional truth and the naive
    estimate is further from it (confounding by indication and regression to the mean push the
    naive one up). Texture is a documented miss: see notebook 04 and the effects issue note."""
    from outcomes.synthetic import demo_simulation

    truth = demo_simulation().truth.set_index(["measure", "estimand"])["value"]
    row = {(r["measure"], r["model"]): r for r in effect_rows if r["term"] == "sessions_per_month"}
    t = truth[("pore", "frequency_effect_analysed")]
    adj = row[("pore", "adjusted")]
    assert adj["ci_low"] <= t <= adj["ci_high"]
    for m in ("pore", "texture"):
        t = truth[(m, "frequency_effect_analysed")]
        assert abs(row[(m, "adjusted")]["estimate"] - t) < abs(row[(m, "naive")]["estimate"] - t)
