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
    """On the demo the naive slope is further from the simulator's interventional truth than the
    adjusted one (confounding by indication and regression to the mean push it up) — and the
    adjusted slope does not cover it either: with saturating benefit and attendance that follows
    the recorded ratings the slope per session a month is an association, which is why the
    headline is the schedule comparison (docs/methods.md §4.1; test below)."""
    from outcomes.synthetic import demo_simulation

    truth = demo_simulation().truth.set_index(["measure", "estimand"])["value"]
    row = {(r["measure"], r["model"]): r for r in effect_rows if r["term"] == "sessions_per_month"}
    for m in ("pore", "texture"):
        t = truth[(m, "frequency_effect_analysed")]
        assert abs(row[(m, "adjusted")]["estimate"] - t) < abs(row[(m, "naive")]["estimate"] - t)
        assert row[(m, "adjusted")]["ci_low"] > t          # the documented bias of the slope


def test_strategies_on_the_demo_answer_in_plain_words(capsys):
    """Issue 14's done-when, as issue 22 left it: means under each schedule and their
    differences in plain words, and which schedules the records cannot judge and why — on the
    demo's ~360 new patients monthly has fewer than 10 effective followers (no number) and every
    other schedule fewer than 40 (a number flagged as a hint, never crowned)."""
    assert cli.main(["strategies", str(DEMO), "--boot", "50"]) == 0
    out = capsys.readouterr().out
    for measure in ("Pore size", "Skin texture"):
        assert f"Schedules compared: {measure}" in out
    assert "Monthly cannot be judged from these records" in out
    assert "after weighting (at least 10 are needed for a number)" in out
    assert "The clinic's protocol has a fragile number, treat it as a hint: only" in out
    assert "treat these numbers as a hint" in out and "is not crowned" in out


def test_strategies_on_the_demo_cover_the_simulated_truth():
    """The clinic's two contrasts on the demo — protocol against every two months and against a
    single session — against the simulator's truth for the same patients (every schedule forced
    on them, common random numbers, no session on or after day 182), with the positivity rule
    relaxed to 10 effective followers so that they get numbers: for pore the 95% CIs cover the
    truth. For texture the protocol comes out above it: in the demo clinic some non-responders
    stop after 2-3 sessions without a rating that shows it, which no weighting can see, and the
    long schedule comes out high — the output says so (and gives the tipping point)."""
    from outcomes import load_records
    from outcomes.estimate.schedules import compare_strategies
    from outcomes.synthetic import demo_simulation

    truth = demo_simulation().strategy_truth(sessions_before=182).set_index(
        ["measure", "strategy"])
    records = load_records(DEMO)
    for m in ("pore", "texture"):
        c = compare_strategies(records, measure=m, boot=200, sensitivity=False,
                               min_followers=10)
        assert any("no weighting can know it" in n for n in c.notes)
        assert len(c.tipping) and c.tipping["sentence"].str.len().gt(0).all()
        for a, b in (("protocol", "every_2_months"), ("protocol", "single")):
            est = c.contrast(a, b)
            t = truth.loc[(m, a), "mean_improvement"] - truth.loc[(m, b), "mean_improvement"]
            if m == "texture":
                # the documented upward bias of the long schedule: above the truth, said so
                assert est["estimate"] > t
                continue
            assert est["ci_low"] <= t <= est["ci_high"], (m, a, b, t, est)
