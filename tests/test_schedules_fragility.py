"""Positivity that speaks (issue 22, docs/methods.md §4.7): estimable on the effective number of
followers, inside every replicate too; the one fragile rule; structural gaps said in words."""

import numpy as np
import pandas as pd
import pytest
from test_schedules import _tiny_records

from outcomes import from_frames
from outcomes.estimate.schedule_fragility import fragility
from outcomes.estimate.schedules import compare_strategies
from outcomes.protocols import Strategy, default_strategies

SINGLE = {"single": Strategy("single", None)}


def _entry(n_out, weights, converged=True):
    w = np.asarray(weights, dtype=float)
    return {"n_outcome": n_out, "ess": float(w.sum() ** 2 / (w ** 2).sum()), "weights": w,
            "converged": converged}


def test_the_fragile_rule():
    empty = pd.DataFrame(columns=["strategy", "variable", "level", "eligible", "followers",
                                  "share", "expected"])
    calm = {"failed": 0, "unsettled": 0}
    # 200 followers with even weights, every fit settled: not fragile, no words
    assert fragility(_entry(200, np.ones(200)), calm, empty, "x", 20, 200) == (False, "")
    # 28 followers, uneven weights (effective 17), 5 unsettled resamples
    w = np.r_[np.ones(24), [4.0, 4.0, 4.0, 1.0]]
    e = _entry(28, w)
    frag, words = fragility(e, {"failed": 0, "unsettled": 5}, empty, "x", 20, 200)
    assert frag
    assert f"only 28 patients kept to it (effective {e['ess']:.0f})" in words
    assert "the weight model did not settle in 5 of 200 resamples" in words
    # one patient with a tenth of the weight
    w = np.r_[np.ones(99), [12.0]]
    frag, words = fragility(_entry(100, w), calm, empty, "x", 20, 200)
    assert frag and "a few patients carry much of the weight" in words
    assert "only" not in words
    # resamples below the effective minimum: more than 2.5 % of them
    frag, words = fragility(_entry(200, np.ones(200)), {"failed": 6, "unsettled": 0}, empty,
                            "x", 20, 200)
    assert frag and "in 6 of 200 resamples fewer than 20 effective patients kept to it" in words
    assert fragility(_entry(200, np.ones(200)), {"failed": 5, "unsettled": 0}, empty, "x", 20,
                     200) == (False, "")
    # not settled on the records themselves
    frag, words = fragility(_entry(200, np.ones(200), converged=False), calm, empty, "x", 20, 0)
    assert frag and "did not settle on these records" in words


def test_a_replicate_below_the_effective_minimum_gives_no_number_and_is_counted():
    c = compare_strategies(_tiny_records(), strategies=SINGLE, reference="single", boot=50,
                           min_followers=9, truncate=None, sensitivity=False, washout_days=0)
    row = c.results.set_index("term").loc["single"]
    assert np.isfinite(row["estimate"]) and row["effective_n"] == pytest.approx(9.6, abs=0.05)
    failed = int(np.isnan(c.replicates["single"]).sum())
    assert 0 < failed < 50
    assert row["failed_replicates"] == failed
    assert row["fragile"] and f"in {failed} of 50 resamples fewer than 9" in \
        row["fragile_reasons"]
    # estimable is judged on the effective number: 10 followers, effective 9.6 < 10
    c10 = compare_strategies(_tiny_records(), strategies=SINGLE, reference="single", boot=0,
                             min_followers=10, truncate=None, sensitivity=False, washout_days=0)
    assert np.isnan(c10.results.set_index("term").loc["single", "estimate"])


def _two_clinics():
    """Clinic A: 40 patients, half of them a single session; clinic B: 40 patients who all
    came back on day 30 (no one in B can follow 'single'). Every patient rated at day 182."""
    t0 = pd.Timestamp("2024-06-01")
    rng = np.random.default_rng(0)
    sessions, assessments, patients = [], [], []
    for i in range(80):
        pid, clinic = f"P{i:03d}", "A" if i < 40 else "B"
        patients.append({"patient_id": pid, "clinic_id": clinic, "age": 30 + i % 30})
        days = [0] if (clinic == "A" and i % 2 == 0) else [0, 30, 60, 90, 120, 150]
        for d in days:
            sessions.append({"patient_id": pid, "date": t0 + pd.Timedelta(days=d),
                             "treatment": "microneedling"})
        assessments.append({"patient_id": pid, "date": t0, "pore": 3.0})
        assessments.append({"patient_id": pid, "date": t0 + pd.Timedelta(days=182),
                            "pore": float(np.clip(2.0 - 0.5 * rng.integers(0, 3), 0, 4))})
    assessments.append({"patient_id": "P000", "date": t0 - pd.Timedelta(days=200), "pore": 3.0})
    assessments.append({"patient_id": "P000", "date": t0 + pd.Timedelta(days=400), "pore": 2.0})
    return from_frames(pd.DataFrame(sessions), pd.DataFrame(assessments),
                       pd.DataFrame(patients))


def test_a_clinic_where_nobody_can_follow_is_said_in_words():
    s = default_strategies()
    strategies = {"monthly": s["monthly"], "single": s["single"]}
    c = compare_strategies(_two_clinics(), strategies=strategies, reference="monthly", boot=0,
                           min_followers=5, sensitivity=False, washout_days=0)
    res = c.results.set_index("term")
    assert "patients in clinic B (40) never kept to it" in res.loc["single", "fragile_reasons"]
    assert "clinic B" not in res.loc["monthly", "fragile_reasons"]
    assert any("No patient in clinic B (40 eligible) kept to 'single'" in n for n in c.notes)
    # a contrast is fragile when either of its strategies is, with that strategy's reasons
    assert res.loc["single - monthly", "fragile"]
    assert "single: " in res.loc["single - monthly", "fragile_reasons"]
    assert res.loc["single - monthly", "effective_n"] == min(res.loc["single", "effective_n"],
                                                             res.loc["monthly", "effective_n"])
    # the tables behind it
    st = c.strata[(c.strata["strategy"] == "single") & (c.strata["variable"] == "clinic")]
    assert st.set_index("level")["followers"].to_dict() == {"A": 20, "B": 0}
    assert set(c.strata["variable"]) == {"clinic", "age band"}
    assert {"p_min", "p_05", "p_median", "p_95"} <= set(c.stay.columns)
    assert set(c.stay["strategy"]) == {"monthly", "single"}


def test_stopped_early_counts_only_patients_with_no_later_session():
    """Patients with 2–3 sessions before day 182: P0 never came back, P1 and P2 came back on day
    200, P3 (3 sessions) never came back and was rated on day 30. Stopped: P0 and P3; of them
    only P0 had no rating after the first session (the old count was 4 and 3)."""
    from test_schedules_estimand import _records, _trial

    from outcomes.estimate.schedule_tables import _stopped_unseen

    plan = [([0, 30], {}), ([0, 30, 200], {}), ([0, 30, 200], {}), ([0, 30, 60], {30: 2.5})]
    assert _stopped_unseen(_trial(_records(plan))) == (2, 1)


def test_tipping_point_by_hand():
    """P0: one session, never again, no rating: leaves 'every two months' unseen (window missed
    on day 72). P1: one session and a rating on day 30: seen. P2 follows every two months (and
    leaves 'single' too early, which is no stopping). Shares 1/3 and 0; a contrast of 0.2
    (0.05 to 0.35) vanishes at δ = 0.2 / (1/3) = 0.6 and stops being clear at 0.15 / (1/3)."""
    from test_schedules_estimand import _records, _trial

    from outcomes.estimate.schedule_sensitivity import stopped_unseen_share, tipping_table
    from outcomes.estimate.target_trial import _arm

    t = _trial(_records([([0], {}), ([0], {30: 2.5}), ([0, 61, 122], {182: 2.0})]))
    s = default_strategies()
    arms = {k: _arm(t, s[k], 30) for k in ("every_2_months", "single")}
    assert stopped_unseen_share(t, arms["every_2_months"]) == pytest.approx(1 / 3)
    assert stopped_unseen_share(t, arms["single"]) == 0
    results = pd.DataFrame([{"term": "every_2_months - single", "estimate": 0.2,
                             "ci_low": 0.05, "ci_high": 0.35}])
    row = tipping_table(t, arms, results, "single").iloc[0]
    assert row["tipping_delta"] == pytest.approx(0.6)
    assert row["tipping_delta_ci"] == pytest.approx(0.15)
    assert "0.60 grades worse" in row["sentence"] and "0.15 grades worse" in row["sentence"]
    # the other way round the bias would only grow the difference: no tipping point
    results = pd.DataFrame([{"term": "every_2_months - single", "estimate": -0.2,
                             "ci_low": -0.35, "ci_high": -0.05}])
    assert np.isnan(tipping_table(t, arms, results, "single").iloc[0]["tipping_delta"])


def test_e_value_columns_on_contrasts_only():
    """The E-value of a contrast is robustness.e_value of its estimate and interval with the SD
    of the outcomes seen (standardised-difference approximation); strategies have none."""
    from test_schedules_estimand import _trial

    from outcomes.estimate.robustness import e_value

    s = default_strategies()
    c = compare_strategies(_two_clinics(), strategies={"monthly": s["monthly"],
                                                       "single": s["single"]},
                           reference="monthly", boot=30, min_followers=5, sensitivity=False,
                           washout_days=0)
    res = c.results.set_index("term")
    assert np.isnan(res.loc["single", "e_value"]) and np.isnan(res.loc["monthly", "e_value"])
    row = res.loc["single - monthly"]
    y = _trial(_two_clinics(), washout_days=0).outcome
    want = e_value(row["estimate"], sd=float(np.nanstd(y, ddof=1)), ci_low=row["ci_low"],
                   ci_high=row["ci_high"]).iloc[0]
    assert row["e_value"] == pytest.approx(want["e_value"])
    assert row["e_value_ci"] == pytest.approx(want["e_value_ci"])
    assert row["e_value"] > 1
    assert len(c.tipping) == 1 and c.tipping["contrast"].iloc[0] == "single - monthly"


def test_interval_methods_from_the_same_replicates():
    """normal = estimate ± 1.96 SE; percentile = the replicates' quantiles; the contrast of any
    pair uses the comparison's method; an unknown method is a clear error."""
    from outcomes.errors import RecordsError

    s = default_strategies()
    kw = {"strategies": {"monthly": s["monthly"], "single": s["single"]}, "reference": "monthly",
          "boot": 40, "min_followers": 5, "sensitivity": False, "washout_days": 0}
    per = compare_strategies(_two_clinics(), interval="percentile", **kw)
    nor = compare_strategies(_two_clinics(), interval="normal", **kw)
    bca = compare_strategies(_two_clinics(), interval="bca", **kw)
    r_p, r_n = per.results.set_index("term"), nor.results.set_index("term")
    for term in ("single", "single - monthly"):
        assert r_n.loc[term, "estimate"] == r_p.loc[term, "estimate"]
        assert r_n.loc[term, "ci_low"] == pytest.approx(r_n.loc[term, "estimate"]
                                                        - 1.959964 * r_n.loc[term, "std_error"])
    v = per.replicates["single"]
    assert r_p.loc["single", "ci_low"] == pytest.approx(np.quantile(v[np.isfinite(v)], 0.025))
    assert nor.contrast("single", "monthly")["ci_low"] == pytest.approx(
        r_n.loc["single - monthly", "ci_low"])
    assert set(bca.jackknife) == {"monthly", "single"}
    assert np.isfinite(bca.results.set_index("term").loc["single", "ci_low"])
    with pytest.raises(RecordsError, match="`interval` must be one of"):
        compare_strategies(_two_clinics(), interval="studentised", **kw)
