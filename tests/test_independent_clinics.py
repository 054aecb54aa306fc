"""The independent clinic generator of benchmarks/strategies.py checks itself (issue 22 item 6).

Not the estimator: the generator's truth, its records and its scenario switches. Fast (small
clinics); the benchmark itself is run by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import independent_clinics as ic

from outcomes import load_records
from outcomes.protocols import default_strategies


def _days(frame, clinic):
    t0 = pd.to_datetime(frame["date"])
    return frame.assign(day=(t0 - pd.Timestamp(ic.EXPORT_START)).dt.days)


def test_schedules_are_the_package_strategies_nominal_days():
    """The truth's nominal days are those of the package's default strategies, none at or after
    the landmark (the generator writes them out itself, so it can be read without the package)."""
    for name, strategy in default_strategies().items():
        assert tuple(strategy.nominal_days(ic.LANDMARK)) == ic.SCHEDULES[name]


@pytest.mark.parametrize("strategy", ["protocol", "monthly"])
def test_truth_is_the_forced_clinic_mean(strategy):
    """Patients forced onto the schedule, rated at day 182, written as records: their mean
    improvement (baseline − day-182 grade, read back from the CSV tables) matches the truth
    within Monte Carlo error."""
    design = ic.SCENARIOS["baseline"]
    truth = ic.truth(design, n=20_000, seed=5)
    t = truth[(truth["measure"] == "pore") & (truth["term"] == strategy)].iloc[0]
    clinic = ic.simulate(design, 1000, seed=11, forced=strategy)
    a = clinic.assessments.assign(date=pd.to_datetime(clinic.assessments["date"]))
    s = clinic.sessions.assign(date=pd.to_datetime(clinic.sessions["date"]))
    t0 = s.groupby("patient_id")["date"].min()
    a["day"] = (a["date"] - a["patient_id"].map(t0)).dt.days
    base = a[a["day"] == 0].set_index("patient_id")["pore"]
    land = a[a["day"] == ic.LANDMARK].set_index("patient_id")["pore"]
    imp = (base - land).dropna()
    assert len(imp) == 1000
    n_sessions = s.groupby("patient_id").size()
    assert set(n_sessions[imp.index]) == {len(ic.SCHEDULES[strategy])}
    se = np.hypot(imp.std() / np.sqrt(len(imp)), t["mc_se"])
    assert abs(imp.mean() - t["truth"]) < 4 * se, (imp.mean(), t["truth"], se)


def test_truth_orders_the_schedules_and_contrasts_are_differences():
    truth = ic.truth(ic.SCENARIOS["baseline"], n=20_000).query("measure == 'pore'")
    t = truth.set_index("term")["truth"]
    assert t["monthly"] > t["protocol"] > t["single"]
    assert t["every_2_months"] > t["single"]
    assert t["protocol - every_2_months"] == pytest.approx(t["protocol"] - t["every_2_months"])


def test_records_load_with_nothing_quarantined(tmp_path):
    for name in ("f_prevalent",):          # new and prevalent users, every column
        clinic = ic.simulate(ic.SCENARIOS[name], 150, seed=3)
        records = load_records(clinic.write(tmp_path / name))
        assert records.n_quarantined == 0
        assert set(records.sessions["treatment"].astype(str)) == {"microneedling"}


def _window_sessions(clinic):
    """Patients with a session after day 182 (since their real first session) and before their
    review."""
    s = clinic.sessions.assign(date=pd.to_datetime(clinic.sessions["date"]))
    h = clinic.hidden.set_index("patient_id")
    day = (s["date"] - pd.Timestamp(ic.EXPORT_START)).dt.days - s["patient_id"].map(h["t0_day"])
    review = s["patient_id"].map(h["review_day"])
    return s.loc[(day > ic.LANDMARK) & (day < review), "patient_id"].nunique() / len(h)


def test_scenario_switches_change_what_they_should():
    n, seed = 400, 7
    base = ic.simulate(ic.SCENARIOS["baseline"], n, seed)
    # (d) reviews late in the window: many more patients have a session between day 182 and it
    late = ic.simulate(ic.SCENARIOS["d_window"], n, seed)
    assert _window_sessions(late) > max(0.15, 2 * _window_sessions(base))
    # (e) clinic_c never books two sessions less than 45 days apart
    blocked = ic.simulate(ic.SCENARIOS["e_positivity"], n, seed)
    s = blocked.sessions.assign(date=pd.to_datetime(blocked.sessions["date"]))
    s = s.merge(blocked.patients[["patient_id", "clinic_id"]], on="patient_id")
    gaps = s.groupby("patient_id")["date"].diff().dt.days
    assert gaps[s["clinic_id"] == "clinic_c"].min() >= 45
    assert gaps[s["clinic_id"] != "clinic_c"].min() < 30
    # (f) prevalent users: a quarter began before the export; none of their sessions before it
    prev = ic.simulate(ic.SCENARIOS["f_prevalent"], n, seed)
    assert 0.15 < prev.hidden["prevalent"].mean() < 0.35
    assert (prev.hidden.loc[prev.hidden["prevalent"], "t0_day"] < 0).all()
    assert (pd.to_datetime(prev.sessions["date"]) >= pd.Timestamp(ic.EXPORT_START)).all()
    assert not base.hidden["prevalent"].any()
    # (b) the threshold stops many at their 3rd session; (c) an unrecorded response stops more
    # patients early than baseline
    def sessions(name):
        return ic.simulate(ic.SCENARIOS[name], n, seed).sessions.groupby("patient_id").size()

    k = base.sessions.groupby("patient_id").size()
    assert (sessions("b_threshold") == 3).mean() > 1.3 * (k == 3).mean()
    assert (sessions("c_unrecorded") <= 3).mean() > 1.3 * (k <= 3).mean()
    # labels
    labels = {k: d.records_only for k, d in ic.SCENARIOS.items()}
    assert not labels["c_unrecorded"] and not labels["f_prevalent"] and labels["baseline"]
    assert not ic.SCENARIOS["e_positivity"].positivity
