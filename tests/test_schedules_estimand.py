"""The schedule comparison's estimand, exact (issue 22, docs/methods.md §4): no session after
the landmark in the outcome, follow-up that the outcome does not set, loss-to-follow-up history
strictly before its cut, new patients only (washout), one treatment under study."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from outcomes import from_frames
from outcomes.errors import SettingError
from outcomes.estimate.schedules import compare_strategies
from outcomes.estimate.target_trial import _build_trial, resolve_treatment
from outcomes.protocols import default_strategies

T0 = pd.Timestamp("2024-06-01")


def _records(plan, *, start_gap=200, extra_sessions=()):
    """``plan``: (session days, {rating day: pore}) per patient; baseline 3.0 on t0.

    t0 is ``start_gap`` days after the records begin (a patient "Z" rated long before and long
    after sets both ends)."""
    sessions, assessments, patients = [], [], []
    for i, (days, ratings) in enumerate(plan):
        pid = f"P{i:03d}"
        patients.append({"patient_id": pid, "sex": "female"})
        for d in days:
            sessions.append({"patient_id": pid, "date": T0 + pd.Timedelta(days=d),
                             "treatment": "microneedling"})
        assessments.append({"patient_id": pid, "date": T0, "pore": 3.0})
        for d, v in ratings.items():
            assessments.append({"patient_id": pid, "date": T0 + pd.Timedelta(days=d), "pore": v})
    for pid, d, t in extra_sessions:
        sessions.append({"patient_id": pid, "date": T0 + pd.Timedelta(days=d), "treatment": t})
    patients.append({"patient_id": "Z", "sex": "female"})
    assessments += [{"patient_id": "Z", "date": T0 - pd.Timedelta(days=start_gap), "pore": 2.0},
                    {"patient_id": "Z", "date": T0 + pd.Timedelta(days=400), "pore": 2.0}]
    return from_frames(pd.DataFrame(sessions), pd.DataFrame(assessments),
                       pd.DataFrame(patients))


def _trial(records, **kw):
    args = {"landmark_days": 182, "window_days": 45, "baseline_days": 30, "treatment": None,
            "region": "face", "rater": "clinician", "washout_days": 90}
    args.update(kw)
    return _build_trial(records, "pore", **args)


def test_no_session_after_the_landmark_is_in_the_outcome():
    """A: every two months with a 4th session on day 185 (no rating that day), a rating on day
    150 (pore 2.0: improvement 1) and the review on day 195 (pore 1.0: improvement 2). The
    review is closer to day 182 but comes after the session: the outcome is day 150's.
    B: no session after day 182, the same ratings: the review is the outcome (improvement 2).
    C: the 4th session on day 185 carries a rating (taken before it, pore 1.5): that one."""
    a = ([0, 61, 122, 185], {150: 2.0, 195: 1.0})
    b = ([0, 61, 122], {150: 2.0, 195: 1.0})
    c = ([0, 61, 122, 185], {185: 1.5, 195: 1.0})
    t = _trial(_records([a, b, c]))
    assert list(t.outcome) == [1.0, 2.0, 1.5]
    assert list(t.landmark_day) == [150, 195, 185]
    assert t.n_moved == 1
    # follow-up ends at day 182 for everyone, whatever the outcome's day
    assert (t.horizon == 182).all()
    assert list(t.n_later) == [1, 0, 1]
    # the sessions in the trial are those before day 182 only
    assert np.isfinite(t.days).sum(axis=1).tolist() == [3, 3, 3]


def test_a_session_after_the_landmark_without_a_rating_before_it_leaves_no_outcome():
    t = _trial(_records([([0, 61, 122, 185], {195: 1.0})]))
    assert np.isnan(t.outcome[0]) and not t.observed[0]


def test_loss_to_follow_up_history_strictly_before_its_cut():
    """The cut is day 182 − 45 = 137: the session on day 137 and the rating on day 137 are not
    in it; those of day 136 are."""
    plan = [([0, 61, 137], {137: 1.0, 182: 1.0}), ([0, 61, 136], {136: 1.0, 182: 1.0})]
    t = _trial(_records(plan))
    # columns: baseline, latest change, has a rating, sessions before the cut, days since last
    assert t.ltfu_X[:, 3].tolist() == [2, 3]
    assert t.ltfu_X[:, 4].tolist() == [137 - 61, 1]
    assert t.ltfu_X[:, 2].tolist() == [0, 1]
    assert t.ltfu_X[:, 1].tolist() == [0, 2.0]


def test_washout_leaves_out_patients_who_may_not_be_new():
    plan = [([0, 61, 122], {182: 1.0})] * 3
    near = _records(plan, start_gap=30)     # t0 30 days after the records begin
    t = _trial(near)
    assert len(t.ids) == 0
    assert t.excluded["first session in the records' first 90 days (perhaps not a new "
                      "patient)"] == 3
    assert len(_trial(near, washout_days=0).ids) == 3
    assert len(_trial(_records(plan, start_gap=91)).ids) == 3


def test_other_treatments_neither_count_nor_deviate():
    """A hydrafacial between two every-two-months sessions would deviate (too early) if it
    counted; it does not, and a hydrafacial before the first microneedling is not t0."""
    plan = [([0, 61, 122], {182: 1.0})] * 25
    extra = [(f"P{i:03d}", 30, "hydrafacial") for i in range(25)]
    extra += [(f"P{i:03d}", -20, "hydrafacial") for i in range(25)]
    rec = _records(plan, extra_sessions=extra)
    assert resolve_treatment(rec, None) == "microneedling"
    e2m = {"every_2_months": default_strategies()["every_2_months"]}
    c = compare_strategies(rec, strategies=e2m, boot=0, sensitivity=False, min_followers=5)
    assert c.results.set_index("term").loc["every_2_months", "n_outcome"] == 25
    assert c.settings["treatment"] == "microneedling"
    # the hydrafacial as the treatment under study: its two sessions 50 days apart deviate
    h = compare_strategies(rec, strategies=e2m, boot=0, sensitivity=False, min_followers=5,
                           treatment="hydrafacial")
    assert h.results.set_index("term").loc["every_2_months", "n_outcome"] == 0
    with pytest.raises(SettingError, match="`treatment` must be among"):
        compare_strategies(rec, strategies=e2m, boot=0, treatment="laser")


def test_dataset_toml_names_the_treatment(tmp_path):
    from outcomes import load_records

    rec = _records([([0, 61], {182: 1.0})], extra_sessions=[("P000", 5, "hydrafacial"),
                                                           ("P000", 9, "hydrafacial"),
                                                           ("P000", 12, "hydrafacial")])
    for name in ("sessions", "assessments", "patients"):
        getattr(rec, name).to_csv(tmp_path / f"{name}.csv", index=False)
    loaded = load_records(tmp_path)
    assert resolve_treatment(loaded, None) == "hydrafacial"        # the most frequent
    (tmp_path / "dataset.toml").write_text('[analysis]\ntreatment = "Microneedling"\n',
                                           encoding="utf-8")
    assert resolve_treatment(load_records(tmp_path), None) == "microneedling"


def test_simulated_clinic_matches_the_truth_with_no_session_after_the_landmark():
    """A clinic where many patients come every two months, so that the 4th session (due day
    183) often falls between day 182 and the review: the estimate of every schedule must sit
    near the truth in which no session on or after day 182 counts."""
    from outcomes.synthetic import STRATEGY_SCENARIOS, simulate

    p = dataclasses.replace(
        STRATEGY_SCENARIOS["simple"],
        hydrafacial_shares={"enlarged": 0.0, "clogged": 0.0, "both": 0.0},
        adherence_shares={"protocol": 0.2, "monthly": 0.15, "bimonthly": 0.35, "regular": 0.1,
                          "bunched": 0.05, "lapsed": 0.05, "dropout": 0.05, "single": 0.05})
    sim = simulate(3000, seed=3, params=p)
    truth = sim.strategy_truth(sessions_before=182)
    truth = truth[truth["measure"] == "pore"].set_index("strategy")["mean_improvement"]
    c = compare_strategies(sim.to_records(), measure="pore", boot=0, sensitivity=False,
                           washout_days=0)
    res = c.results.set_index("term")
    moved = [n for n in c.notes if "came before the review" in n]
    assert moved, "the clinic was meant to have sessions between day 182 and the review"
    for term in ("protocol", "every_2_months", "monthly", "single",
                 "protocol - every_2_months"):
        assert res.loc[term, "estimate"] == pytest.approx(truth[term], abs=0.05), term


def test_cli_washout_treatment_interval_and_the_new_json_fields(capsys):
    import json

    from outcomes.cli import main

    args = ["strategies", "data/demo", "--measure", "pore", "--boot", "20", "--json"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    for r in rows:
        assert {"effective_n", "fragile", "fragile_reasons", "ice_estimate", "ipw_estimate",
                "boot_bias", "failed_replicates", "unsettled_fits", "e_value"} <= set(r)
        assert isinstance(r["fragile"], bool) and isinstance(r["fragile_reasons"], str)
        assert r["fragile"] == (r["fragile_reasons"] != "")
    n_default = rows[0]["n"]
    assert main(args + ["--washout-days", "0"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] > n_default
    assert main(args + ["--treatment", "hydrafacial", "--interval", "normal"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] != n_default
    assert main(args + ["--treatment", "laser"]) == 1
    err = capsys.readouterr().err
    assert "must be among" in err and "laser" in err


def test_the_new_settings_are_checked_where_settings_are():
    from outcomes import Settings

    assert Settings().washout_days == 90 and Settings().treatment is None
    assert Settings(treatment=" MicroNeedling ").treatment == "microneedling"
    with pytest.raises(SettingError, match="`washout_days` must be a whole number of days ≥ 0"):
        Settings(washout_days=-1)
    with pytest.raises(SettingError, match="`treatment` must be the name of one treatment"):
        Settings(treatment="")
    with pytest.raises(SettingError, match="`treatment` must be the name of one treatment"):
        Settings(treatment=("microneedling", "hydrafacial"))
