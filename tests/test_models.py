"""Models of improvement on frequency and consistency (outcomes.estimate.effects): hand-computed cases,
the missing-covariate rule, and planted truth in simulated clinics."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from outcomes import Analysis
from outcomes.errors import RecordsError
from outcomes.estimate.effects import (
    RESULT_COLUMNS,
    adjusted_effect,
    collinearity,
    consistency_effect,
    mixed_effect,
    naive_effect,
)
from outcomes.present.effects import (
    describe_effect,
    plot_effects,
    plot_improvement_by_frequency,
    plot_trajectories,
)
from outcomes.records import from_frames
from outcomes.records.scales import Measure, default_measures
from outcomes.synthetic import SimParams, simulate

C = 30.4375 / 182          # sessions a month per session over a 182-day follow-up


def _hand_records(patients=None):
    """Six patients, t0 = 2024-01-01, baseline on t0, landmark 2024-07-01 (= t0 + 182 days).

    n sessions (every 14 days from t0): 2, 3, 4, 6, 5, 1; baseline 3, 2.5, 3.5, 3, 2, 4;
    landmark 2.5, 2, 2, 1, 1, 3.5 → improvement 0.5, 0.5, 1.5, 2, 1, 0.5.
    """
    n = [2, 3, 4, 6, 5, 1]
    base = [3.0, 2.5, 3.5, 3.0, 2.0, 4.0]
    land = [2.5, 2.0, 2.0, 1.0, 1.0, 3.5]
    t0 = pd.Timestamp("2024-01-01")
    sessions, ratings = [], []
    for i, (k, b, lm) in enumerate(zip(n, base, land)):
        pid = f"h{i}"
        sessions += [(pid, t0 + pd.Timedelta(days=14 * j)) for j in range(k)]
        ratings += [(pid, t0, b), (pid, pd.Timestamp("2024-07-01"), lm)]
    s = pd.DataFrame(sessions, columns=["patient_id", "date"]).assign(
        treatment="microneedling", depth_mm=1.0, areas="face", clinician_id="c")
    a = pd.DataFrame(ratings, columns=["patient_id", "date", "pore"]).assign(texture=2.0)
    return from_frames(s, a, patients), np.array(n, float), np.array(base), \
        np.array(base) - np.array(land)


class TestHandComputed:
    def test_table(self):
        records, n, _, imp = _hand_records()
        table = Analysis(records, measure="pore").table
        assert table["n_sessions"].tolist() == n.tolist()
        np.testing.assert_allclose(table["sessions_per_month"], n * C)
        np.testing.assert_allclose(table["improvement"], imp)
        assert (table["followup_days"] == 182).all()
        assert table.attrs["measure"] == "pore" and table.attrs["covariates"] == []

    def test_naive_is_the_closed_form_slope_with_hc3(self):
        records, n, _, y = _hand_records()
        out = naive_effect(Analysis(records, measure="pore").table)
        x = n * C
        slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
        # HC3 by hand: (X'X)⁻¹ X' diag(e²/(1−h)²) X (X'X)⁻¹
        X = np.column_stack([np.ones(6), x])
        bread = np.linalg.inv(X.T @ X)
        e = y - X @ (bread @ X.T @ y)
        h = np.einsum("ij,jk,ik->i", X, bread, X)
        cov = bread @ (X.T * (e / (1 - h)) ** 2) @ X @ bread
        se = np.sqrt(cov[1, 1])
        from scipy import stats
        t = stats.t.ppf(0.975, df=4)
        row = out.iloc[0]
        assert list(out.columns) == RESULT_COLUMNS
        assert (row["model"], row["term"], row["n"]) == ("naive", "sessions_per_month", 6)
        assert row["estimate"] == pytest.approx(slope, rel=1e-10)
        assert row["std_error"] == pytest.approx(se, rel=1e-10)
        assert row["ci_low"] == pytest.approx(slope - t * se, rel=1e-10)
        assert row["ci_high"] == pytest.approx(slope + t * se, rel=1e-10)

    def test_adjusted_is_lstsq_on_frequency_and_baseline(self):
        records, n, base, y = _hand_records()
        out = adjusted_effect(Analysis(records, measure="pore").table).set_index("term")
        X = np.column_stack([np.ones(6), n * C, base])
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        assert out.loc["sessions_per_month", "estimate"] == pytest.approx(beta[1], rel=1e-10)
        assert out.loc["baseline", "estimate"] == pytest.approx(beta[2], rel=1e-10)
        assert (out["model"] == "adjusted").all()

    def test_too_few_patients_is_a_note_not_a_crash(self):
        records, *_ = _hand_records()
        table = Analysis(records, measure="pore").table.iloc[:2]
        out = adjusted_effect(table)
        assert out["estimate"].isna().all()
        assert "too few patients (2)" in out["note"].iloc[0]

    def test_frequency_without_variation(self):
        records, *_ = _hand_records()
        table = Analysis(records, measure="pore").table.assign(sessions_per_month=1.0)
        out = naive_effect(table)
        assert np.isnan(out["estimate"].iloc[0])
        assert "cannot estimate sessions_per_month" in out["note"].iloc[0]


def _clinic(rng, n=60):
    """A small random clinic with covariates, some missing (for the missing-value rule)."""
    t0 = pd.Timestamp("2024-01-01")
    sessions, ratings = [], []
    for i in range(n):
        k = int(rng.integers(1, 8))
        gaps = rng.integers(10, 40, size=k - 1)
        days = np.concatenate([[0], np.cumsum(gaps)])
        sessions += [(f"q{i}", t0 + pd.Timedelta(days=int(d))) for d in days]
        b = float(rng.integers(4, 8)) / 2
        ratings += [(f"q{i}", t0, b),
                    (f"q{i}", t0 + pd.Timedelta(days=int(182 + rng.integers(-20, 20))),
                     float(np.clip(b - 0.1 * k + rng.normal(0, 0.3), 0, 4)))]
    s = pd.DataFrame(sessions, columns=["patient_id", "date"]).assign(
        treatment="microneedling", depth_mm=1.0, areas="face", clinician_id="c")
    a = pd.DataFrame(ratings, columns=["patient_id", "date", "pore"])
    age = rng.normal(40, 10, n)
    age[:7] = np.nan
    smoker = rng.choice(["never", "former", "current"], n).astype(object)
    smoker[3:12] = None
    patients = pd.DataFrame({"patient_id": [f"q{i}" for i in range(n)], "age": age,
                             "smoker": smoker, "sex": "F",
                             "clinic_id": ["a"] * (n - 2) + ["b", "c"]})
    return from_frames(s, a, patients)


class TestMissingCovariates:
    def test_rule_applied_and_counted(self, rng):
        records = _clinic(rng)
        table = Analysis(records, measure="pore").table
        assert len(table) == 60                                   # nobody deleted
        assert table.attrs["missing"] == {"age": 7, "sex": 0, "smoker": 9, "clinic_id": 0}
        observed = records.patients["age"].mean()
        assert np.allclose(table.loc[table["age_missing"] == 1, "age"], observed)
        assert table["age_missing"].sum() == 7
        assert (table["smoker"] == "missing").sum() == 9
        # sex does not vary; clinics b and c (1 patient each) pool into the reference "a"
        assert table.attrs["covariates"] == ["age", "smoker"]
        assert set(table["clinic_id"]) == {"a"}

    def test_all_terms_names_and_no_nan(self, rng):
        table = Analysis(_clinic(rng), measure="pore").table
        out = adjusted_effect(table, all_terms=True)
        assert out["term"].tolist() == ["sessions_per_month", "baseline", "age", "age_missing",
                                        "smoker[current]", "smoker[missing]"] or \
            set(out["term"]) >= {"age", "age_missing", "smoker[missing]"}
        assert out["estimate"].notna().all() and out["std_error"].notna().all()

    def test_redundant_missing_indicators_are_dropped_and_named(self, rng):
        records = _clinic(rng)
        p = records.patients.copy()
        p["sleep_hours"] = 7.0 + rng.normal(0, 1, len(p))
        p.loc[:6, "sleep_hours"] = np.nan                          # same patients as age
        records.patients = p
        out = adjusted_effect(Analysis(records, measure="pore").table)
        assert out["estimate"].notna().all()
        assert "redundant columns dropped: sleep_hours_missing" in out["note"].iloc[0]

    def test_unknown_covariate(self, rng):
        table = Analysis(_clinic(rng), measure="pore").table
        with pytest.raises(RecordsError, match="`covariates` must be among"):
            adjusted_effect(table, covariates=["income"])


class TestConsistency:
    def test_rows_and_vif(self, rng):
        table = Analysis(_clinic(rng), measure="pore").table
        out = consistency_effect(table)
        assert out["term"].tolist() == ["sessions_per_month", "adherence", "baseline"]
        assert (out["model"] == "adjusted+consistency").all()
        assert "VIF sessions_per_month" in out["note"].iloc[0]
        vif = collinearity(table).set_index("term")["vif"]
        assert vif["sessions_per_month"] >= 1 and vif["adherence"] >= 1
        assert f"adherence {vif['adherence']:.1f}" in out["note"].iloc[0]

    def test_interval_cv_needs_three_sessions(self, rng):
        table = Analysis(_clinic(rng), measure="pore").table
        out = consistency_effect(table, consistency="interval_cv", all_terms=True)
        assert "fewer_than_3_sessions" in out["term"].tolist()
        assert out["estimate"].notna().all()

    def test_unknown_metric(self, rng):
        table = Analysis(_clinic(rng), measure="pore").table
        with pytest.raises(RecordsError, match="`consistency` must be one of"):
            consistency_effect(table, consistency="vibes")


class TestDescribe:
    def test_adjusted_sentence(self):
        row = {"model": "adjusted", "term": "sessions_per_month", "estimate": 0.6,
               "ci_low": 0.4, "ci_high": 0.8}
        text = describe_effect(row, default_measures()["pore"], ["age", "smoker", "skin_type"])
        assert text == ("Each additional session a month went with 0.60 (95% CI 0.40 to 0.80) "
                        "grades more pore size improvement at 6 months, after adjusting for "
                        "baseline rating, age, smoking and skin type.")

    def test_naive_sentence_explains_why_it_differs(self):
        row = {"model": "naive", "term": "sessions_per_month", "estimate": -0.2,
               "ci_low": -0.5, "ci_high": 0.1}
        text = describe_effect(row, default_measures()["texture"], [])
        assert "0.20 (95% CI −0.10 to 0.50) grades less skin texture improvement" in text
        assert "regression to the mean" in text and "compatible with no effect" in text

    def test_points_for_a_device_score(self):
        m = Measure("score", "Pore score (device)", 0, 100, "higher")
        row = {"model": "adjusted", "term": "sessions_per_month", "estimate": 3.0,
               "ci_low": 1.0, "ci_high": 5.0}
        assert "3.00 (95% CI 1.00 to 5.00) points more pore score" in describe_effect(row, m)


# ---------------------------------------------------------------------------------------------
# planted truth (outcomes.synthetic)
# ---------------------------------------------------------------------------------------------



def _truth(sim, measure):
    return sim.truth.set_index(["measure", "estimand"])["value"][
        (measure, "frequency_effect_analysed")]


class TestPlantedTruth:
    def test_linear_coverage_40_clinics(self):
        """40 simulated clinics × 300 patients, linear scenario (confounding by indication on):
        the adjusted 95 % CI covers the planted beta in 80 intervals (2 measures). Under
        Binomial(80, 0.95), P(covered ≤ 70) ≈ 0.01 and P(covered = 80) ≈ 0.017; the mean bias
        must be within 3 Monte-Carlo standard errors of 0. The consistency term (adherence) has a
        true effect of 0 here and its CI must cover 0 as often."""
        covered, zero_covered, errors = 0, 0, []
        for seed in range(40):
            sim = simulate(300, seed=1000 + seed, params=SimParams.linear())
            records = sim.to_records()
            for m in ("pore", "texture"):
                table = Analysis(records, measure=m).table
                beta = _truth(sim, m)
                row = adjusted_effect(table).iloc[0]
                covered += row["ci_low"] <= beta <= row["ci_high"]
                errors.append(row["estimate"] - beta)
                cons = consistency_effect(table).set_index("term").loc["adherence"]
                zero_covered += cons["ci_low"] <= 0 <= cons["ci_high"]
        errors = np.array(errors)
        assert 71 <= covered <= 80
        assert 71 <= zero_covered <= 80
        assert abs(errors.mean()) < 3 * errors.std(ddof=1) / np.sqrt(len(errors))

    def test_confounding_by_indication_biases_naive_upwards(self):
        """Patients with worse baseline grades come more often AND (regression to the mean, a
        positive baseline coefficient) improve more, so the naive slope is biased UPWARDS (it
        credits frequency with the bigger change of worse-off starters). Adjusting for the
        baseline removes that: the adjusted CI covers the truth. With the trap switched off
        (confounding=0) the naive estimate is no longer above the truth."""
        sim = simulate(3000, seed=7, params=SimParams.linear())
        table = Analysis(sim.to_records(), measure="pore").table
        beta = _truth(sim, "pore")
        naive, adj = naive_effect(table).iloc[0], adjusted_effect(table).iloc[0]
        assert naive["ci_low"] > beta                      # biased upwards, beyond chance
        assert naive["estimate"] - beta > 0.08
        assert adj["ci_low"] <= beta <= adj["ci_high"]
        assert abs(adj["estimate"] - beta) < 0.05
        off = simulate(3000, seed=7, params=SimParams.linear(confounding=0.0))
        naive_off = naive_effect(Analysis(off.to_records(), measure="pore").table).iloc[0]
        assert naive_off["ci_low"] <= beta <= naive_off["ci_high"]

    def test_any_declared_measure_device_score_higher_is_better(self):
        """A 0–100 device score, higher = better: the same planted effect on the flipped scale
        (score = 50 − 10 × grade, so one grade less = 10 points more) comes out as 10 × beta."""
        sim = simulate(1500, seed=11, params=SimParams.linear())
        a = sim.assessments.copy()
        a["pore_score"] = 50.0 - 10.0 * a["pore"]
        measures = dict(sim.measures) | {"pore_score": Measure(
            "pore_score", "Pore score (device)", -1000.0, 1000.0, "higher")}
        from outcomes.records import from_frames
        records = from_frames(sim.sessions, a, sim.patients, measures)
        grade = adjusted_effect(Analysis(records, measure="pore").table).iloc[0]
        score = adjusted_effect(Analysis(records, measure="pore_score").table).iloc[0]
        assert score["estimate"] == pytest.approx(10 * grade["estimate"], rel=1e-8)
        assert score["ci_low"] <= 10 * _truth(sim, "pore") <= score["ci_high"]


@pytest.fixture(scope="module")
def demo_records():
    return simulate(400, seed=3).to_records()


class TestMixed:
    def test_rows_notes_and_no_warnings(self, demo_records):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = mixed_effect(Analysis(demo_records, measure="pore").long)
        assert out["term"].tolist() == ["sessions_within", "sessions_between", "months"]
        assert (out["model"] == "mixed").all() and out["estimate"].notna().all()
        assert "ratings of" in out["note"].iloc[0] and "random intercept" in out["note"].iloc[0]
        # in the simulated clinic each session makes the skin better: within-patient slope > 0
        assert out.iloc[0]["ci_low"] > 0

    def test_split_is_exact(self, demo_records):
        data = Analysis(demo_records, measure="pore").long
        np.testing.assert_allclose(data["sessions_within"] + data["sessions_between"],
                                   data["sessions_before"])
        assert np.allclose(data.groupby("patient_id")["sessions_within"].mean(), 0)
        np.testing.assert_allclose(data["score"], -data["value"])     # lower is better

    def test_too_little_data(self):
        records, *_ = _hand_records()
        records.assessments = records.assessments[records.assessments["patient_id"].isin(
            ["h0", "h1"])]
        out = mixed_effect(Analysis(records, measure="pore").long)
        assert out["estimate"].isna().all() and "too few" in out["note"].iloc[0]


class TestEffectsAndCli:
    def test_effects_all_models_every_measure(self, demo_records):
        results = [Analysis(demo_records, measure=m).effects(mixed=False)
                   for m in ("pore", "texture")]
        out = pd.concat([r.table for r in results])
        assert set(out["measure"]) == {"pore", "texture"}
        for model in ("naive", "adjusted", "adjusted+consistency"):
            assert ((out["model"] == model) & (out["term"] == "sessions_per_month")).sum() == 2
        assert [r.analysis_table.attrs["measure"] for r in results] == ["pore", "texture"]

    def test_cli_json_and_human(self, monkeypatch, capsys):
        from outcomes import cli
        small = simulate(150, seed=5).to_records()
        monkeypatch.setattr(cli, "load_records", lambda path, strict=False: small)
        assert cli.main(["effects", "somewhere", "--measure", "pore", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        keys = {"measure", "model", "term", "estimate", "ci_low", "ci_high", "p_value", "n"}
        assert all(keys <= set(r) for r in rows)
        models = {r["model"] for r in rows}
        assert {"naive", "adjusted", "adjusted+consistency", "mixed"} <= models
        assert cli.main(["effects", "somewhere", "--measure", "pore"]) == 0
        text = capsys.readouterr().out
        assert "Each additional session a month went with" in text
        assert "excluded, no landmark in window" in text and "quarantined input rows" in text


class TestPlots:
    def test_plots_return_axes(self, demo_records):
        import matplotlib.axes
        a = Analysis(demo_records, measure="pore")
        out = a.effects(mixed=False).table
        assert isinstance(plot_effects(out), matplotlib.axes.Axes)
        assert isinstance(plot_trajectories(a.trajectories, a.measure), matplotlib.axes.Axes)
        table = a.table
        assert isinstance(plot_improvement_by_frequency(table), matplotlib.axes.Axes)


def test_too_few_patients_per_coefficient_is_said_in_the_note():
    """A 30-patient clinic with ~15 adjusted coefficients gets a plain warning; the
    single-coefficient naive model on the same patients does not."""
    records = simulate(60, seed=11).to_records()
    table = Analysis(records, measure="pore").table
    adj = adjusted_effect(table)
    assert adj["note"].str.contains("patients per coefficient").all()
    assert not naive_effect(table)["note"].str.contains("patients per coefficient").any()


# ---------------------------------------------------------------------------------------------
# `outcomes effects` on odd records: no traceback, the model that could not run is named
# ---------------------------------------------------------------------------------------------

_JARGON = ("ATE", "ESS", "HC3", "sandwich", "SMD", "VIF", "IPW", "odds ratio",
           "adjusted+consistency", "sessions_within", "sessions_between", "monthly_start",
           "sessions_per_month", "−0.00", "-0.00")


def _cli(monkeypatch, capsys, records, *args):
    from outcomes import cli
    monkeypatch.setattr(cli, "load_records", lambda path, strict=False: records)
    status = cli.main(["effects", "somewhere", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def _same_schedule_records(k=12):
    """k patients, each 4 sessions 14 days apart from 2024-01-01: sessions a month identical."""
    t0 = pd.Timestamp("2024-01-01")
    rng = np.random.default_rng(1)
    sessions, ratings = [], []
    for i in range(k):
        pid = f"s{i}"
        sessions += [(pid, t0 + pd.Timedelta(days=14 * j)) for j in range(4)]
        base = float(rng.choice([2.0, 2.5, 3.0, 3.5]))
        ratings += [(pid, t0, base), (pid, t0 + pd.Timedelta(days=182), base - 0.5)]
    s = pd.DataFrame(sessions, columns=["patient_id", "date"]).assign(
        treatment="microneedling", depth_mm=1.0, areas="face", clinician_id="c")
    a = pd.DataFrame(ratings, columns=["patient_id", "date", "pore"]).assign(texture=2.0)
    return from_frames(s, a, None)


class TestOddRecords:
    def test_three_patients(self, monkeypatch, capsys):
        import re
        status, out, err = _cli(monkeypatch, capsys, simulate(3, seed=1).to_records())
        assert status == 0 and "Traceback" not in err
        assert "could not be estimated" in out
        # no count of 1-4 people anywhere in what is shown
        assert not re.search(r"(?<![\w.])[1-4](?:\)| patient| of )", out), out
        assert "patients analysed: <5 of <5" in out
        for word in _JARGON:
            assert word not in out, word

    def test_three_patients_json_rows_name_the_models(self, monkeypatch, capsys):
        status, out, _ = _cli(monkeypatch, capsys, simulate(3, seed=1).to_records(), "--json")
        rows = json.loads(out)
        assert status == 0
        failed = [r for r in rows if r["estimate"] is None]
        assert failed and all(r["note"] for r in failed)
        assert {"naive", "adjusted"} <= {r["model"] for r in failed}

    def test_everyone_on_the_same_schedule(self, monkeypatch, capsys):
        records = _same_schedule_records()
        status, out, err = _cli(monkeypatch, capsys, records, "--measure", "pore")
        assert status == 0 and not err
        assert "Adjusted association: could not be estimated" in out
        res = Analysis(records, measure="pore").effects().table
        adj = res[(res["model"] == "adjusted") & (res["term"] == "sessions_per_month")].iloc[0]
        assert np.isnan(adj["estimate"]) and "does not vary" in adj["note"]
        ordinal = res[res["model"] == "ordinal"].iloc[0]
        assert np.isnan(ordinal["estimate"]) and ordinal["note"]

    def test_a_measure_no_model_can_fit(self, monkeypatch, capsys):
        sim = simulate(80, seed=2).to_records()
        sim.assessments = sim.assessments.assign(pore=2.0)
        status, _, err = _cli(monkeypatch, capsys, sim, "--measure", "pore")
        assert status == 0 and not err
        res = Analysis(sim, measure="pore").effects().table
        bad = res[res["estimate"].isna()]
        assert "ordinal" in set(bad["model"])
        assert bad["note"].str.len().gt(0).all()

    def test_small_exclusion_counts_are_suppressed(self, monkeypatch, capsys):
        """600 patients, 2 of them without any rating: shown as <5, and the next smallest count
        hidden so the 2 cannot be worked out from the total."""
        sim = simulate(600).to_records()
        gone = sim.assessments["patient_id"].drop_duplicates().iloc[:2]
        sim.assessments = sim.assessments[~sim.assessments["patient_id"].isin(gone)]
        table = Analysis(sim, measure="pore").table
        small = [k for k, v in table.attrs["exclusions"].items() if 0 < v < 5]
        assert small                                    # the test is about something
        _, out, _ = _cli(monkeypatch, capsys, sim, "--measure", "pore")
        lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("excluded,")]
        for reason in small:
            assert f"excluded, {reason}: <5" in lines
        assert "excluded, no baseline: hidden" in lines
        assert not any(ln.endswith(f": {n}") for ln in lines for n in range(1, 5))


class TestPlainWords:
    def test_default_output_has_no_jargon_and_details_has_the_table(self, monkeypatch, capsys):
        sim = simulate(150, seed=5).to_records()
        _, out, _ = _cli(monkeypatch, capsys, sim)
        for word in _JARGON:
            assert word not in out, word
        assert "Adjusted association: Each additional session a month went with" in out
        assert "Main answer" not in out  # an association is not the answer
        assert "A better grade reached: On the grade scale itself" in out
        assert "% chance" not in out  # no chance a reader takes for a promise
        _, detailed, _ = _cli(monkeypatch, capsys, sim, "--details")
        assert "adjusted+consistency" in detailed and "note:" in detailed
        assert "-0.000" not in detailed

    def test_a_model_not_run_is_named(self, monkeypatch, capsys):
        from outcomes.records.scales import Measure
        sim = simulate(150, seed=5).to_records()
        sim.measures["pore"] = Measure("pore", "Pore score (device)", 0.0, 4.0, "lower")
        _, out, _ = _cli(monkeypatch, capsys, sim, "--measure", "pore")
        assert "A better grade reached: not run, because" in out

    def test_no_negative_zero(self):
        from outcomes.format import number
        assert number(-0.001, "size") == "0.00" and number(-0.0001, 3, minus="-") == "0.000"
        assert number(-0.5, "size") == "−0.50"


def test_progress_bar_only_when_asked(monkeypatch, capsys):
    records = simulate(80, seed=2).to_records()
    monkeypatch.setenv("OUTCOMES_PROGRESS", "1")
    _ = Analysis(records, measure="pore").effects().table
    assert "outcomes effects" in capsys.readouterr().err
    monkeypatch.setenv("OUTCOMES_PROGRESS", "0")
    _ = Analysis(records, measure="pore").effects().table
    assert capsys.readouterr().err == ""


def test_vif_and_rank_check_match_the_one_column_at_a_time_definitions():
    """VIF from one inverse of the correlation matrix = statsmodels' regression of each column
    on the others; the QR rank check drops the same columns as adding columns one by one."""
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    from outcomes.estimate.effects import _independent, _vif

    rng = np.random.default_rng(8)
    x = rng.normal(size=(300, 4))
    x[:, 3] = 0.7 * x[:, 0] + 0.3 * rng.normal(size=300)
    design = pd.DataFrame(np.column_stack([np.ones(300), x]), columns=["Intercept", *"abcd"])
    vif = _vif(design.to_numpy(), list(design.columns))
    for j, name in enumerate(design.columns[1:], start=1):
        assert vif[name] == pytest.approx(variance_inflation_factor(design.to_numpy(), j),
                                          rel=1e-10)
    redundant = design.assign(e=design["a"] + design["b"], f=2 * design["c"], g=rng.normal(size=300))
    kept, dropped = _independent(redundant, protect=[])
    assert dropped == ["e", "f"] and list(kept.columns) == ["Intercept", *"abcd", "g"]
