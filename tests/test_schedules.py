"""The schedule comparison: deviation steps by hand, a hand-computed trial, accounting, positivity."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes import from_frames
from outcomes.cli import main
from outcomes.errors import RecordsError, SettingError
from outcomes.estimate.schedules import compare_strategies, follow_strategy
from outcomes.present.schedules import strategy_sentences
from outcomes.protocols import Strategy, default_strategies, parse_strategy, strategy_from_spec
from outcomes.records.dataset import read_strategies

INF = np.inf


def _days(*rows):
    width = max(len(r) for r in rows) + 1
    return np.array([list(r) + [INF] * (width - len(r)) for r in rows], dtype=float)


# ----------------------------------------------------------------------------------------------
# deviation steps against hand-written schedules
# ----------------------------------------------------------------------------------------------

class TestFollowStrategy:
    S = default_strategies()

    def test_protocol_followed_to_the_review(self):
        f = follow_strategy(_days([0, 28, 56, 147]), np.array([182.0]), self.S["protocol"])
        assert f["status"][0] == "followed" and f["step"][0] == 0
        # steps 1-3 end on an on-time session, step 4 (window 217-259) reaches the horizon
        assert list(f["row_step"]) == [1, 2, 3, 4]
        assert list(f["row_start"]) == [0, 28, 56, 147]
        assert list(f["row_prev_gap"]) == [0, 28, 28, 91]
        assert f["row_stay"].all()

    def test_too_early_and_window_missed(self):
        days = _days([0, 20], [0, 28, 100], [0, 28, 56, 100], [0])
        f = follow_strategy(days, np.full(4, 182.0), self.S["protocol"])
        assert list(f["status"]) == ["too early", "window missed", "too early", "window missed"]
        assert list(f["step"]) == [1, 2, 3, 1]
        # window missed: the day after the window's last day (28 + 35 + 1; 0 + 35 + 1)
        assert list(f["day"]) == [20, 64, 100, 36]
        assert list(f["n_steps"]) == [1, 2, 3, 1]

    def test_window_open_at_the_horizon_is_not_a_deviation(self):
        # every 2 months: the 4th session is due in [173, 193]; the review comes first
        days = _days([0, 61, 122], [0, 61, 122, 175], [0, 61, 122])
        f = follow_strategy(days, np.array([182.0, 190.0, 200.0]), self.S["every_2_months"])
        assert list(f["status"]) == ["followed", "followed", "window missed"]
        assert f["day"][2] == 194

    def test_sessions_on_or_after_the_horizon_do_not_count(self):
        f = follow_strategy(_days([0, 190], [0, 100], [0, 181]), np.array([182.0, 182, 181]),
                            self.S["single"])
        assert list(f["status"]) == ["followed", "too early", "followed"]
        assert f["day"][1] == 100

    def test_monthly(self):
        f = follow_strategy(_days([0, 30, 60, 90, 120, 150], [0, 30, 60, 95, 150]),
                            np.array([182.0, 182.0]), self.S["monthly"])
        assert list(f["status"]) == ["followed", "window missed"]
        assert f["step"][1] == 4 and f["day"][1] == 95 + 37 + 1


def _reference_follow(days, horizon, strategy):
    """Slow, obviously correct version of follow_strategy for one patient."""
    sessions = [d for d in days if np.isfinite(d) and d < horizon]
    prev, k, i = 0.0, 1, 1
    while True:
        win = strategy.window(k)
        nxt = sessions[i] if i < len(sessions) else INF
        if win is None:
            return ("too early", k, nxt) if nxt < horizon else ("followed", 0, None)
        lo, hi = prev + win[0], prev + win[1]
        if nxt < lo:
            return "too early", k, nxt
        if nxt <= hi:
            prev, k, i = nxt, k + 1, i + 1
            continue
        if hi + 1 < horizon:
            return "window missed", k, hi + 1
        return "followed", 0, None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(1, 250), max_size=8), min_size=1, max_size=12),
       st.lists(st.integers(140, 230), min_size=12, max_size=12),
       st.sampled_from(list(default_strategies()) + ["six_weekly"]))
def test_every_patient_accounted_for_in_every_arm(gaps, horizons, name):
    strategy = (default_strategies()[name] if name != "six_weekly"
                else parse_strategy("six_weekly=every:42,tolerance:7"))
    rows = [np.cumsum([0] + g).astype(float) for g in gaps]
    days = _days(*rows)
    horizon = np.array(horizons[:len(rows)], dtype=float)
    f = follow_strategy(days, horizon, strategy)
    for i in range(len(rows)):
        status, step, day = _reference_follow(days[i], horizon[i], strategy)
        assert f["status"][i] == status
        assert f["step"][i] == step
        assert (math.isnan(f["day"][i]) if day is None else f["day"][i] == day)
        mine = f["row_patient"] == i
        # one row per step at risk; every row but a deviation's stays
        assert mine.sum() == f["n_steps"][i] >= 1
        assert f["row_stay"][mine][:-1].all()
        assert f["row_stay"][mine][-1] == (status == "followed")
    # followed + deviated at step k = everyone
    assert sum(f["status"] == "followed") + sum(f["step"] > 0) == len(rows)


# ----------------------------------------------------------------------------------------------
# a hand-computed trial
# ----------------------------------------------------------------------------------------------

def _tiny_records():
    """24 patients, one baseline grade (3.0), no interim ratings, smokers and never-smokers.

    never (12): 8 single-session, 4 with a second session on day 30; landmark observed for 6 of
    the 8 (improvements 1, 1, 1, 1, 2, 2) and 2 of the 4.
    current (12): 5 single-session, 7 with a second session; landmark for 4 of the 5
    (0, 0, 0.5, 0.5) and 4 of the 7.
    """
    t0 = pd.Timestamp("2024-01-01")
    sessions, assessments, patients = [], [], []
    plan = ([("never", 1, 1.0)] * 4 + [("never", 1, 2.0)] * 2 + [("never", 1, None)] * 2
            + [("never", 2, 1.0)] * 2 + [("never", 2, None)] * 2
            + [("current", 1, 0.0)] * 2 + [("current", 1, 0.5)] * 2 + [("current", 1, None)]
            + [("current", 2, 1.0)] * 4 + [("current", 2, None)] * 3)
    for i, (smoker, n_sessions, improvement) in enumerate(plan):
        pid = f"P{i:03d}"
        patients.append({"patient_id": pid, "smoker": smoker})
        for d in ([0] if n_sessions == 1 else [0, 30]):
            sessions.append({"patient_id": pid, "date": t0 + pd.Timedelta(days=d),
                             "treatment": "microneedling"})
        assessments.append({"patient_id": pid, "date": t0, "pore": 3.0})
        if improvement is not None:
            assessments.append({"patient_id": pid, "date": t0 + pd.Timedelta(days=182),
                                "pore": 3.0 - improvement})
    # one patient with no session: only makes the records long enough to reach day 182 + 45
    patients.append({"patient_id": "Z", "smoker": "never"})
    assessments.append({"patient_id": "Z", "date": t0 + pd.Timedelta(days=300), "pore": 2.0})
    return from_frames(pd.DataFrame(sessions), pd.DataFrame(assessments),
                       pd.DataFrame(patients))


def test_hand_computed_weights_and_means():
    """P(stay | never) = 8/12, P(stay | current) = 5/12. Reviews: never-single 6/8, never-two 2/4,
    current-single 4/5, current-two 4/7 — exactly additive on the log-odds scale (odds 3, 1, 4,
    4/3), so the logistic fit reproduces them. Weights of the uncensored single clones:
    never 1/(8/12) × 1/(6/8) = 2, current 1/(5/12) × 1/(4/5) = 3.
    IPW mean = (2·8 + 3·1) / (2·6 + 3·4) = 19/24; the standardised mean is the same (group means
    4/3 and 1/4 averaged over 12 + 12 patients); the plain mean of followers is 9/10."""
    records = _tiny_records()
    single = {"single": Strategy("single", None)}
    c = compare_strategies(records, strategies=single, reference="single", boot=0,
                           min_followers=5, truncate=None, sensitivity=False, washout_days=0)
    row = c.results.set_index("term").loc["single"]
    assert row["n"] == 24 and row["n_followed"] == 13 and row["n_outcome"] == 10
    assert row["ipw_estimate"] == pytest.approx(19 / 24, abs=1e-6)
    assert row["estimate"] == pytest.approx(19 / 24, abs=1e-6)
    assert row["naive_estimate"] == pytest.approx(0.9, abs=1e-12)
    w = c.weights.set_index("strategy").loc["single"]
    assert w["max_weight"] == pytest.approx(3.0, abs=1e-5)
    assert w["mean_weight"] == pytest.approx((6 * 2 + 4 * 3) / 10, abs=1e-5)
    assert c.excluded["no session of the analysed treatments"] == 1
    # no interim ratings: said in plain words
    assert any("no ratings between the baseline and the review" in n for n in c.notes)


def test_positivity_rule_gives_no_number():
    records = _tiny_records()
    single = {"single": Strategy("single", None)}
    c = compare_strategies(records, strategies=single, reference="single", boot=0,
                           min_followers=20, sensitivity=False, washout_days=0)
    row = c.results.set_index("term").loc["single"]
    assert np.isnan(row["estimate"]) and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["note"].startswith("not estimable: only 10 patients followed it")


def test_contrast_not_estimable_when_the_reference_is_not():
    c = compare_strategies(_tiny_records(), boot=0, min_followers=5, sensitivity=False,
                           washout_days=0)
    res = c.results.set_index("term")
    assert np.isnan(res.loc["single - every_2_months", "estimate"])
    assert "every_2_months" in res.loc["single - every_2_months", "note"]
    assert any("cannot be judged" in s for s in strategy_sentences(c))


# ----------------------------------------------------------------------------------------------
# settings and strategies as data
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, words", [
    ({"every": 0}, "`every` must be a whole number ≥ 1"),
    ({"every": 30, "tolerance": 30}, "tolerance"),
    ({"every": 30, "often": 2}, "unknown key"),
    ({"tolerance": 3}, "`every` (days between sessions) is required"),
    ({"every": 30, "loading_sessions": 3}, "needs `loading_every`"),
    ({"single": True, "every": 3}, "stands alone"),
    ({"every": "monthly"}, "whole number"),
])
def test_malformed_strategy_names_the_key(spec, words):
    with pytest.raises(SettingError, match="strategy 'x'") as err:
        strategy_from_spec("x", spec)
    assert words in str(err.value)


def test_strategies_from_dataset_toml(tmp_path):
    (tmp_path / "dataset.toml").write_text(
        "[strategies.six_weekly]\nevery = 42\ntolerance = 7\n"
        "[strategies.protocol]\nloading_sessions = 4\nloading_every = 28\n"
        "loading_tolerance = 7\nevery = 91\ntolerance = 21\n", encoding="utf-8")
    s = read_strategies(tmp_path / "dataset.toml")
    assert list(s) == ["protocol", "every_2_months", "monthly", "single", "six_weekly"]
    assert s["six_weekly"].window(1) == (35, 49)
    assert s["protocol"].window(3) == (21, 35) and s["protocol"].window(4) == (70, 112)
    (tmp_path / "dataset.toml").write_text("[strategies.bad]\nevery = -1\n", encoding="utf-8")
    with pytest.raises(RecordsError, match="dataset.toml: strategy 'bad'"):
        read_strategies(tmp_path / "dataset.toml")


def test_bad_settings_are_clear_errors():
    records = _tiny_records()
    with pytest.raises(RecordsError, match="`reference` must be one of"):
        compare_strategies(records, reference="weekly", boot=0)
    with pytest.raises(RecordsError, match="`boot`"):
        compare_strategies(records, boot=-1)
    with pytest.raises(SettingError, match="NAME=SPEC"):
        parse_strategy("every:42")


# ----------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------

def test_cli_json_contract_and_words(capsys):
    assert main(["strategies", "data/demo", "--measure", "pore", "--boot", "20", "--json",
                 "--strategy", "six_weekly=every:42,tolerance:7"]) == 0
    rows = json.loads(capsys.readouterr().out)
    terms = [r["term"] for r in rows]
    assert terms[:5] == ["protocol", "every_2_months", "monthly", "single", "six_weekly"]
    assert "every_2_months - protocol" in terms   # against the clinic's own protocol by default
    for r in rows:
        assert {"measure", "model", "term", "estimate", "ci_low", "ci_high", "n", "n_followed",
                "note"} <= set(r)
        assert r["model"] == "strategy"
        if r["estimate"] is None:
            assert r["ci_low"] is None and r["ci_high"] is None and "not estimable" in r["note"]
    assert main(["strategies", "data/demo", "--measure", "pore", "--boot", "20"]) == 0
    out = capsys.readouterr().out
    assert "Schedules compared" in out and "-0.00" not in out and "−0.00" not in out
    assert out.startswith("Bottom line:") and "the clinic's protocol" in out.split("\n\n")[0]


def test_cli_bad_strategy_is_exit_1(capsys):
    assert main(["strategies", "data/demo", "--strategy", "x=every:0", "--boot", "0"]) == 1
    assert "`every` must be a whole number" in capsys.readouterr().err


def test_weight_fit_without_a_maximum_likelihood_estimate_is_penalised_not_left_drifting():
    """Perfect separation: no ML fit exists; the fit falls back to the weakly informative ridge
    (SEPARATION_RIDGE on standardised slopes), settles, and gives the same answer from any start.
    Where an ML fit exists it is returned unpenalised and reported as settled."""
    from outcomes.estimate.target_trial import SEPARATION_RIDGE, _logistic

    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    X = np.column_stack([np.ones(200), (x - x.mean()) / x.std()])
    w = np.ones(200)
    separated = (x > 0).astype(float)
    beta, settled = _logistic(X, separated, w)
    again, _ = _logistic(X, separated, w, init=np.array([0.0, 5.0]))
    assert settled and np.all(np.isfinite(beta)) and 0 < beta[1] < 50
    np.testing.assert_allclose(beta, again, atol=1e-6)
    # the penalised score is zero at the returned fit
    mu = 1 / (1 + np.exp(-X @ beta))
    grad = X.T @ (separated - mu) - np.array([0.0, SEPARATION_RIDGE]) * beta
    assert np.max(np.abs(grad)) < 1e-6

    noisy = (x + rng.normal(scale=1.0, size=200) > 0).astype(float)
    beta, settled = _logistic(X, noisy, w)
    mu = 1 / (1 + np.exp(-X @ beta))
    assert settled and np.max(np.abs(X.T @ (noisy - mu))) < 1e-4    # the ML fit, (almost) no penalty
