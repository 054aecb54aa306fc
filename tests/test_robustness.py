"""Tests of outcomes.estimate.robustness: each analysis on a simulated clinic where the problem is planted
(the function must find it) and one where it is absent (it must not)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from outcomes import Analysis
from outcomes.errors import RecordsError
from outcomes.estimate import dose_response, frames, ordinal, robustness, traps, weighting
from outcomes.present import robustness as figures
from outcomes.records import from_frames
from outcomes.records.scales import Measure

PORE = Measure("pore", "Pore size", 0.0, 4.0, "lower", 0.5)
SCORE = Measure("score", "Device score", 0.0, 100.0, "higher", None)
COVS = ["age", "smoker", "sun_exposure"]


# --------------------------------------------------------------------------------------------------
# simulated analysis tables with planted truths
# --------------------------------------------------------------------------------------------------

def make_table(rng, n=800, *, freq_effect=0.5, regular_effect=0.0, indication=0.0,
               covariate_confounding=True, baseline_noise=0.4, rating_noise=0.3,
               base_dependence=0.0, saturate=None, grade=False):
    """One row per patient, shaped like models.analysis_table (lower grade = better).

    Truth: landmark = true_baseline - freq_effect * dose(spm) - regular_effect * regular
    - base_dependence * (true_baseline - 2.3) + noise; ratings observed with noise. Frequency and
    regular attendance depend on the *observed* baseline (``indication``) and, unless switched
    off, on smoking and age — all measured, so adjustment can remove the confounding.
    """
    age = rng.normal(45, 12, n)
    smoker = rng.choice(["never", "former", "current"], n, p=[0.6, 0.25, 0.15])
    sun = rng.choice(["low", "moderate", "high"], n)
    current = (smoker == "current").astype(float)
    true_base = 2.3 + 0.015 * (age - 45) + 0.35 * current + 0.2 * (sun == "high") \
        + rng.normal(0, 0.5, n)
    base = true_base + rng.normal(0, baseline_noise, n)
    lin = indication * (base - 2.3)
    if covariate_confounding:
        lin = lin + 0.6 * current - 0.015 * (age - 45)
    spm = np.clip(0.9 + 0.4 * lin + rng.normal(0, 0.3, n), 0.1, 2.5)
    regular = rng.random(n) < expit(-0.2 + 1.5 * lin)
    dose = spm if saturate is None else np.minimum(spm, saturate)
    true_land = (true_base - freq_effect * dose - regular_effect * regular
                 - base_dependence * (true_base - 2.3) + rng.normal(0, 0.3, n))
    land = true_land + rng.normal(0, rating_noise, n)
    if grade:
        base = np.clip(np.round(base * 2) / 2, 0, 4)
        land = np.clip(np.round(land * 2) / 2, 0, 4)
    t0 = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    lm_days = rng.integers(150, 215, n)
    table = pd.DataFrame({
        "patient_id": [f"P{i:04d}" for i in range(n)], "t0": t0,
        "baseline_date": t0, "baseline": base,
        "landmark_date": t0 + pd.to_timedelta(lm_days, unit="D"), "landmark": land,
        "improvement": base - land, "sessions_per_month": spm,
        "n_sessions": np.round(spm * lm_days / 30.4375).astype(int),
        "coverage": np.where(regular, rng.uniform(0.8, 1, n), rng.uniform(0.3, 0.8, n)),
        "regular": regular, "age": age,
        "smoker": pd.Categorical(smoker), "sun_exposure": pd.Categorical(sun)})
    table.attrs = {"covariates": COVS, "measure": "pore"}
    return table


# --------------------------------------------------------------------------------------------------
# 1. propensity weighting
# --------------------------------------------------------------------------------------------------

class TestPropensityWeights:
    def test_stabilised_formula_and_truncation(self, rng):
        t = make_table(rng, 500, indication=1.0)
        w = weighting.propensity_weights(t, trim=None)
        p1 = w["exposed"].mean()
        expected = np.where(w["exposed"], p1 / w["propensity"], (1 - p1) / (1 - w["propensity"]))
        np.testing.assert_allclose(w["weight_raw"], expected)
        assert (w["weight"] == w["weight_raw"]).all()
        wt = weighting.propensity_weights(t, trim=(0.05, 0.95))
        lo, hi = np.quantile(wt["weight_raw"], [0.05, 0.95])
        assert wt["weight"].min() == pytest.approx(lo) and wt["weight"].max() == pytest.approx(hi)
        assert wt["truncated"].sum() >= 0.08 * len(wt)   # ~10 % of weights sit beyond the cut-offs
        assert 0 < wt.attrs["ess"] < len(wt)

    def test_stabilised_weights_keep_group_sizes(self, rng):
        t = make_table(rng, 2000, indication=1.0)
        w = weighting.propensity_weights(t, trim=None)
        # E[sw | A=1] sums to about n1: sum over exposed of P(A=1)/e(x) ≈ n * P(A=1)
        assert w.loc[w["exposed"], "weight"].sum() == pytest.approx(w["exposed"].sum(), rel=0.1)

    def test_needs_both_groups(self, rng):
        t = make_table(rng, 100).assign(regular=True)
        with pytest.raises(RecordsError, match="5 exposed and 5"):
            weighting.propensity_weights(t)

    def test_bad_exposure_name(self, rng):
        with pytest.raises(ValueError, match="`exposure` must be one of"):
            weighting.propensity_weights(make_table(rng, 50), exposure="weekly")

    def test_monthly_start_column_required(self, rng):
        with pytest.raises(RecordsError, match="add_monthly_start"):
            weighting.ipw_effect(make_table(rng, 50), exposure="monthly_start")


class TestBalance:
    def test_smd_hand_computed(self):
        # exposed baseline 1, 2, 3 (mean 2, var 1); unexposed 0, 1, 2 (mean 1, var 1) → SMD 1.
        # smoker "current": 2/3 exposed vs 1/3 unexposed → (1/3) / sqrt((2/9 + 2/9) / 2) = 0.7071
        t = pd.DataFrame({"patient_id": list("abcdef"), "baseline": [1.0, 2, 3, 0, 1, 2],
                          "smoker": ["current", "current", "never", "current", "never", "never"],
                          "regular": [True, True, True, False, False, False]})
        w = pd.DataFrame({"patient_id": list("abcdef"), "exposed": t["regular"],
                          "weight": [1.0, 1, 2, 1, 1, 1]})
        w.attrs["covariates"] = ["smoker"]
        b = weighting.balance_table(t, w).set_index(["variable", "level"])
        assert b.loc[("baseline", ""), "smd_before"] == pytest.approx(1.0)
        assert b.loc[("smoker", "current"), "smd_before"] == pytest.approx(1 / 3 / math.sqrt(2 / 9))
        # weighted exposed mean of baseline: (1 + 2 + 2*3) / 4 = 2.25 → SMD 1.25 (unweighted SD)
        assert b.loc[("baseline", ""), "smd_after"] == pytest.approx(1.25)

    def test_weighting_removes_imbalance(self, rng):
        t = make_table(rng, 1500, indication=1.0)
        exact = weighting.balance_table(t, trim=None)
        assert exact["smd_before"].abs().max() > 0.5
        assert exact["smd_after"].abs().max() < 0.1
        # truncation trades a little balance for stability, but most imbalance is still removed
        truncated = weighting.balance_table(t)
        assert truncated["smd_after"].abs().max() < 0.15

    def test_love_plot_returns_axes(self, rng):
        ax = figures.love_plot(weighting.balance_table(make_table(rng, 300, indication=1.0)))
        assert ax.get_xlabel().startswith("|standardised")


class TestIPW:
    def test_recovers_planted_effect_where_naive_is_biased(self, rng):
        t = make_table(rng, 3000, freq_effect=0.0, regular_effect=0.5, indication=1.5)
        naive = (t.loc[t["regular"], "improvement"].mean()
                 - t.loc[~t["regular"], "improvement"].mean())
        assert naive > 0.7                                   # confounding by indication + RTM
        for adjust in (True, False):
            r = weighting.ipw_effect(t, adjust=adjust).iloc[0]
            assert r["model"] == "ipw" and r["term"] == "regular"
            assert abs(r["estimate"] - 0.5) < 0.1      # CI coverage: test_ci_coverage_...
            assert r["ci_high"] - r["ci_low"] < 0.3

    def test_no_effect_no_finding(self, rng):
        t = make_table(rng, 2000, freq_effect=0.0, regular_effect=0.0, indication=1.5)
        r = weighting.ipw_effect(t).iloc[0]
        assert r["ci_low"] < 0 < r["ci_high"]

    def test_ci_coverage_small_simulation(self):
        rng = np.random.default_rng(7)
        hits = [weighting.ipw_effect(make_table(rng, 400, freq_effect=0, regular_effect=0.4,
                                         indication=1.0)).iloc[0] for _ in range(40)]
        covered = np.mean([h["ci_low"] < 0.4 < h["ci_high"] for h in hits])
        assert covered >= 0.85

    def test_regular_at_same_frequency(self, rng):
        # regular attenders come more often; being regular adds 0.3 at the same frequency
        t = make_table(rng, 3000, freq_effect=0.0)
        spm = t["sessions_per_month"].to_numpy()
        regular = rng.random(len(t)) < expit(-2 + 2.5 * spm)
        t = t.assign(regular=regular, improvement=t["improvement"] + 0.3 * regular + 0.8 * spm)
        total = weighting.ipw_effect(t).iloc[0]
        same = weighting.ipw_effect(t, at_same_frequency=True).iloc[0]
        assert total["estimate"] > 0.45                     # carries the extra sessions
        assert same["term"] == "regular|frequency"
        assert same["ci_low"] < 0.3 < same["ci_high"]
        assert "CAUTION" not in same["note"]

    def test_positivity_problem_flagged(self, rng):
        t = make_table(rng, 800)
        t = t.assign(regular=t["sessions_per_month"] > 1.0)   # regular = frequent, no overlap
        r = weighting.ipw_effect(t, at_same_frequency=True).iloc[0]
        assert "CAUTION" in r["note"]

    def test_monthly_start_from_sessions(self):
        t = pd.DataFrame({"patient_id": ["a", "b", "c"],
                          "t0": pd.to_datetime(["2024-01-01"] * 3)})
        s = pd.DataFrame({"patient_id": ["a", "a", "b", "b", "c", "c", "c"],
                          "date": pd.to_datetime(["2024-01-01", "2024-02-14", "2024-01-01",
                                                  "2024-02-15", "2024-01-01", "2024-01-20",
                                                  "2024-01-30"]),
                          "treatment": ["microneedling"] * 6 + ["hydrafacial"]})
        out = weighting.add_monthly_start(t, s)
        # a: day 44 < 45 → yes; b: day 45 is outside [t0, t0 + 45) → no; c: yes
        assert out["monthly_start"].tolist() == [True, False, True]
        only = weighting.add_monthly_start(t, s, treatments=["microneedling"], min_sessions=3)
        assert only["monthly_start"].tolist() == [False, False, False]


# --------------------------------------------------------------------------------------------------
# 2. ordinal model
# --------------------------------------------------------------------------------------------------

class TestOrdinal:
    def test_or_above_one_when_frequency_helps(self, rng):
        t = make_table(rng, 800, freq_effect=0.6, grade=True)
        r = ordinal.ordinal_effect(t, PORE).iloc[0]
        assert r["model"] == "ordinal" and r["scale"] == "odds ratio"
        assert 1 < r["ci_low"] < r["estimate"] < r["ci_high"]
        assert "better landmark grade" in r["note"]

    def test_or_covers_one_without_effect(self, rng):
        r = ordinal.ordinal_effect(make_table(rng, 800, freq_effect=0.0, grade=True), PORE).iloc[0]
        assert r["ci_low"] < 1 < r["ci_high"]

    def test_direction_does_not_depend_on_scale_orientation(self, rng):
        t = make_table(rng, 600, freq_effect=0.6, grade=True)
        flipped = t.assign(baseline=4 - t["baseline"], landmark=4 - t["landmark"])
        higher = Measure("pore", "Pore (higher better)", 0.0, 4.0, "higher", 0.5)
        a = ordinal.ordinal_effect(t, PORE).iloc[0]
        b = ordinal.ordinal_effect(flipped, higher).iloc[0]
        assert b["estimate"] == pytest.approx(a["estimate"], rel=1e-3)
        assert b["estimate"] > 1

    def test_collapse_sparse_grades(self):
        codes = pd.Series([0] * 20 + [1] * 3 + [2] * 30 + [3] * 2)
        collapsed, merged = ordinal._collapse(codes, 10)
        assert merged == [[0, 1], [2, 3]]
        assert collapsed.value_counts().sort_index().tolist() == [23, 32]

    def test_not_for_continuous_scores(self, rng):
        with pytest.raises(RecordsError, match="not a grade scale"):
            ordinal.ordinal_effect(make_table(rng, 50), SCORE)


# --------------------------------------------------------------------------------------------------
# 3. dose-response
# --------------------------------------------------------------------------------------------------

class TestDoseResponse:
    def test_flattening_found_when_planted(self, rng):
        t = make_table(rng, 2000, freq_effect=1.0, saturate=1.0)
        s = dose_response.dose_response_slopes(t).set_index("term")
        assert s.loc["slope below 1", "ci_low"] > 0.5
        assert s.loc["slope above 1", "ci_low"] < 0 < s.loc["slope above 1", "ci_high"]
        assert s.loc["difference (above - below)", "ci_high"] < 0

    def test_no_flattening_when_linear(self, rng):
        t = make_table(rng, 2000, freq_effect=0.5)
        s = dose_response.dose_response_slopes(t).set_index("term")
        d = s.loc["difference (above - below)"]
        assert d["ci_low"] < 0 < d["ci_high"]
        assert s.loc["slope below 1", "ci_low"] < 0.5 < s.loc["slope below 1", "ci_high"]

    def test_curve_follows_planted_shape(self, rng):
        t = make_table(rng, 2000, freq_effect=1.0, saturate=1.0)
        c = dose_response.dose_response(t, grid=41)
        assert (c["ci_low"] < c["estimate"]).all() and (c["estimate"] < c["ci_high"]).all()
        f = np.interp([0.5, 1.0, 1.5], c["sessions_per_month"], c["estimate"])
        assert f[1] - f[0] == pytest.approx(0.5, abs=0.15)     # truth: 1.0 * (1.0 - 0.5)
        assert f[2] - f[1] == pytest.approx(0.0, abs=0.15)     # truth: flat after monthly
        ax = figures.dose_response_plot(c, table=t)
        assert ax.get_xlabel() == "sessions per month"

    def test_knee_outside_data(self, rng):
        t = make_table(rng, 200).assign(sessions_per_month=lambda d: d["sessions_per_month"] / 5)
        with pytest.raises(RecordsError, match="cannot be compared"):
            dose_response.dose_response_slopes(t)


# --------------------------------------------------------------------------------------------------
# 4. bootstrap
# --------------------------------------------------------------------------------------------------

class TestBootstrap:
    def test_agrees_with_model_ci_and_is_seeded(self, rng):
        import statsmodels.formula.api as smf

        t = make_table(rng, 600, freq_effect=0.5)
        b = robustness.cluster_bootstrap(t, reps=200, seed=3, progress=False).iloc[0]
        again = robustness.cluster_bootstrap(t, reps=200, seed=3, progress=False).iloc[0]
        assert b["ci_low"] == again["ci_low"] and b["ci_high"] == again["ci_high"]
        fit = smf.ols("improvement ~ sessions_per_month + baseline + age + C(smoker)"
                      " + C(sun_exposure)", t).fit(cov_type="HC3")
        lo, hi = fit.conf_int().loc["sessions_per_month"]
        assert b["estimate"] == pytest.approx(fit.params["sessions_per_month"])
        assert (b["ci_high"] - b["ci_low"]) / (hi - lo) == pytest.approx(1, abs=0.25)
        assert b["ci_low"] < 0.5 < b["ci_high"] and b["model"] == "bootstrap"

    def test_resamples_whole_clusters(self, rng):
        # two rows per patient, identical: a row bootstrap would halve the SE, a cluster one not
        t = make_table(rng, 300, freq_effect=0.5)
        doubled = pd.concat([t, t], ignore_index=True)
        doubled.attrs = t.attrs
        single = robustness.cluster_bootstrap(t, reps=150, seed=1, progress=False).iloc[0]
        both = robustness.cluster_bootstrap(doubled, reps=150, seed=1, progress=False).iloc[0]
        assert both["std_error"] == pytest.approx(single["std_error"], rel=0.25)
        assert both["n"] == 300

    def test_unknown_term(self, rng):
        with pytest.raises(ValueError, match="`terms` must be among"):
            robustness.cluster_bootstrap(make_table(rng, 60), terms=["weekly"], reps=20, progress=False)


# --------------------------------------------------------------------------------------------------
# 5. E-value
# --------------------------------------------------------------------------------------------------

class TestEValue:
    def test_published_reference(self):
        # VanderWeele & Ding 2017, Ann Intern Med 167:268 — RR 3.9 → E-value 7.26
        assert robustness.e_value_rr(3.9) == pytest.approx(7.26, abs=0.005)
        assert robustness.e_value_rr(1 / 3.9) == pytest.approx(robustness.e_value_rr(3.9))
        assert robustness.e_value_rr(1.0) == 1.0

    def test_continuous_hand_computed(self):
        # d = 0.5 → RR = exp(0.455) = 1.57617; E = 1.57617 + sqrt(1.57617 * 0.57617) = 2.52915
        r = robustness.e_value(0.25, sd=0.5, ci_low=0.1, ci_high=0.4).iloc[0]
        assert r["rr"] == pytest.approx(math.exp(0.455))
        assert r["e_value"] == pytest.approx(2.52915, abs=1e-4)
        # CI limit nearer the null: 0.1/0.5 = 0.2 → RR exp(0.182) = 1.19961 → 1.19961 + 0.48927
        assert r["e_value_ci"] == pytest.approx(1.68888, abs=1e-4)
        assert robustness.e_value(0.25, sd=0.5, ci_low=-0.1, ci_high=0.6).iloc[0]["e_value_ci"] == 1.0
        neg = robustness.e_value(-0.25, sd=0.5, ci_low=-0.4, ci_high=-0.1).iloc[0]
        assert neg["e_value"] == pytest.approx(2.52915, abs=1e-4)
        assert neg["e_value_ci"] == pytest.approx(1.68888, abs=1e-4)

    def test_adjusted_e_value_grows_with_effect(self, rng):
        small = robustness.adjusted_e_value(make_table(rng, 600, freq_effect=0.1)).iloc[0]
        large = robustness.adjusted_e_value(make_table(rng, 600, freq_effect=1.0)).iloc[0]
        assert 1 < small["e_value"] < large["e_value"]


# --------------------------------------------------------------------------------------------------
# 6. the traps
# --------------------------------------------------------------------------------------------------

class TestRegressionToMean:
    def test_noisy_baseline_gives_negative_slope(self, rng):
        # reliability = var(true) / (var(true) + var(noise)); slope ≈ -(1 - r)
        t = make_table(rng, 2000, freq_effect=0.0, baseline_noise=0.5, covariate_confounding=False)
        r = traps.regression_to_mean(t).set_index("model")
        slope = r.loc["change vs baseline"]
        assert slope["ci_high"] < -0.2
        true_var = t["baseline"].var() - 0.25
        assert slope["implied_reliability"] == pytest.approx(true_var / t["baseline"].var(),
                                                             abs=0.08)

    def test_exact_baseline_gives_no_slope(self, rng):
        t = make_table(rng, 2000, freq_effect=0.0, baseline_noise=0.0, covariate_confounding=False)
        slope = traps.regression_to_mean(t).set_index("model").loc["change vs baseline"]
        assert slope["ci_low"] < 0 < slope["ci_high"]

    def test_ancova_removes_bias_change_score_keeps(self, rng):
        t = make_table(rng, 3000, freq_effect=0.3, indication=1.5, baseline_noise=0.5,
                       covariate_confounding=False)
        r = traps.regression_to_mean(t).set_index("model")
        assert r.loc["change score", "ci_low"] > 0.45              # biased upward
        assert r.loc["ANCOVA", "ci_low"] < 0.3 < r.loc["ANCOVA", "ci_high"]
        ax = figures.regression_to_mean_plot(t)
        assert ax.get_ylabel() == "landmark − baseline"


class TestConfoundingByIndication:
    def test_worse_baseline_in_frequent_group(self, rng):
        c = traps.confounding_by_indication(make_table(rng, 1500, indication=1.5,
                                                    covariate_confounding=False))
        groups = c[c["group"] != "trend"]
        assert groups["baseline_mean"].is_monotonic_increasing
        assert groups["ci_high"].iloc[0] < groups["ci_low"].iloc[-1]
        trend = c.set_index("group").loc["trend"]
        assert trend["spearman_rho"] > 0.3 and trend["p_value"] < 0.001
        assert "age_mean" in c.columns
        figures.indication_plot(c)

    def test_no_confounding_no_trend(self, rng):
        c = traps.confounding_by_indication(make_table(rng, 1500, indication=0.0,
                                                    covariate_confounding=False))
        trend = c.set_index("group").loc["trend"]
        assert abs(trend["spearman_rho"]) < 0.06 and trend["p_value"] > 0.01
        assert c["n"].iloc[:3].sum() == 1500


# --------------------------------------------------------------------------------------------------
# records-level traps: small simulated clinics (sessions + assessments)
# --------------------------------------------------------------------------------------------------

def make_followup_records(rng, n=300, *, time_trend=0.5, per_session=0.0):
    """Patients come at their own frequency for their own length of stay (200–900 days); rated at
    t0, every 91 days and exactly at 182 days. Grade falls by ``time_trend`` per year of follow-up
    and by ``per_session`` per session received; the per-session effect is the only real one."""
    sessions, ratings, table = [], [], []
    for i in range(n):
        pid = f"P{i:04d}"
        t0 = pd.Timestamp("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        freq = rng.uniform(0.3, 1.5)
        stay = int(rng.uniform(200, 900))
        days = np.arange(0, stay, 30.4375 / freq).astype(int)
        sessions += [(pid, t0 + pd.Timedelta(days=int(d)), "microneedling") for d in days]
        base = rng.normal(3.0, 0.4)

        def grade(d, base=base, days=days):
            return np.clip(base - time_trend * d / 365 - per_session * (days < d).sum()
                           + rng.normal(0, 0.2), 0, 4)

        rate_days = sorted({0, 182, *range(91, stay, 91)})
        values = {d: grade(d) for d in rate_days}
        ratings += [(pid, t0 + pd.Timedelta(days=d), v) for d, v in values.items()]
        table.append({"patient_id": pid, "t0": t0, "baseline": values[0],
                      "landmark_date": t0 + pd.Timedelta(days=182), "landmark": values[182],
                      "improvement": values[0] - values[182],
                      "n_sessions": int((days < 182).sum()),
                      "sessions_per_month": (days < 182).sum() * 30.4375 / 182})
    records = from_frames(pd.DataFrame(sessions, columns=["patient_id", "date", "treatment"]),
                          pd.DataFrame(ratings, columns=["patient_id", "date", "pore"]))
    return records, pd.DataFrame(table)


def _followup(records, table):
    a = Analysis(records, measure="pore")
    table = table.copy()
    table.attrs["landmark_days"] = 182
    return traps.followup_bias(table, a.primary, a.sessions, a.measure)


class TestFollowupBias:
    def test_all_followup_design_overstates(self, rng):
        records, table = make_followup_records(rng, time_trend=0.5, per_session=0.0)
        r = _followup(records, table).set_index("model")
        assert r.loc["all follow-up", "ci_low"] > 0                  # spurious per-session effect
        assert r.loc["all follow-up", "estimate"] > 0.01
        assert r.loc["landmark", "ci_low"] < 0 < r.loc["landmark", "ci_high"]
        assert r.loc["all follow-up", "corr_sessions_followup"] > 0.5
        figures.followup_bias_plot(r.reset_index())

    def test_designs_agree_without_time_effect(self, rng):
        records, table = make_followup_records(rng, time_trend=0.0, per_session=0.02)
        r = _followup(records, table).set_index("model")
        for design in ("all follow-up", "landmark"):
            assert r.loc[design, "ci_low"] < 0.02 < r.loc[design, "ci_high"]


def make_dropout_records(rng, n=400, *, informative=True):
    """Monthly sessions; ratings at t0, day 60 and day 120; after day 120 patients who have not
    improved stop (informative) or a random 30 % stop; stayers are rated at 182 and come to 300."""
    sessions, ratings = [], []
    for i in range(n):
        pid = f"P{i:04d}"
        t0 = pd.Timestamp("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 100)))
        base = rng.normal(2.8, 0.4)
        gain = rng.normal(0.6, 0.5)                    # personal response by day 120
        r120 = base - gain + rng.normal(0, 0.2)
        stop = rng.random() < (0.8 if gain < 0.4 else 0.1) if informative else rng.random() < 0.3
        last_day = 120 if stop else 300
        sessions += [(pid, t0 + pd.Timedelta(days=int(d)), "microneedling")
                     for d in range(0, last_day, 30)]
        marks = [(0, base), (60, base - gain / 2 + rng.normal(0, 0.2)), (120, r120)]
        if not stop:
            marks.append((182, base - gain * 1.2 + rng.normal(0, 0.2)))
        ratings += [(pid, t0 + pd.Timedelta(days=d), np.clip(v, 0, 4)) for d, v in marks]
    return from_frames(pd.DataFrame(sessions, columns=["patient_id", "date", "treatment"]),
                       pd.DataFrame(ratings, columns=["patient_id", "date", "pore"]))


class TestDropout:
    def test_informative_dropout_found(self, rng):
        d = Analysis(make_dropout_records(rng, informative=True), measure="pore").dropout().set_index("group")
        assert d.loc["stopped", "n"] > 50 and d.loc["reached landmark", "n"] > 150
        assert d.loc["stopped", "n"] + d.loc["reached landmark", "n"] == 400
        diff = d.loc["stopped - reached"]
        assert diff["ci_high"] < -0.3 and diff["p_value"] < 0.001
        figures.dropout_plot(d.reset_index())

    def test_random_dropout_not_flagged(self, rng):
        d = Analysis(make_dropout_records(rng, informative=False), measure="pore").dropout().set_index("group")
        diff = d.loc["stopped - reached"]
        assert diff["ci_low"] < 0 < diff["ci_high"]


# --------------------------------------------------------------------------------------------------
# hook for `outcomes effects`
# --------------------------------------------------------------------------------------------------

class TestExtraEffectRows:
    def test_grade_scale_gets_ipw_and_ordinal(self, rng):
        t = make_table(rng, 600, freq_effect=0.5, regular_effect=0.3, grade=True)
        rows = robustness.extra_effect_rows(t, PORE)
        assert rows["model"].tolist() == ["ipw", "ordinal"]
        assert list(rows.columns[:10]) == frames.TIDY_COLUMNS
        assert (rows["ci_low"] < rows["estimate"]).all()
        assert (rows["estimate"] < rows["ci_high"]).all()
        assert np.isfinite(rows[["estimate", "ci_low", "ci_high"]].to_numpy(float)).all()

    def test_continuous_scale_only_ipw_and_failure_is_a_row(self, rng):
        t = make_table(rng, 300).assign(regular=True)
        rows = robustness.extra_effect_rows(t, SCORE)
        assert rows["model"].tolist() == ["ipw"]
        assert rows["estimate"].isna().all() and "not estimable" in rows["note"].iloc[0]


# --------------------------------------------------------------------------------------------------
# records-level: the synthetic clinic of outcomes.synthetic, traps switched on and off
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clinic():
    from outcomes import synthetic

    return synthetic.simulate(600, seed=11).to_records()


def _clinic(n, seed, **changes):
    import dataclasses

    from outcomes import synthetic

    params = dataclasses.replace(synthetic.SimParams(), **changes)
    return synthetic.simulate(n, seed=seed, params=params).to_records()


class TestSyntheticClinic:
    def test_effects_carry_ipw_and_ordinal_rows(self, clinic):
        res = Analysis(clinic, measure="pore").effects(mixed=False).table
        extra = res[res["model"].isin(["ipw", "ordinal"])].set_index(["model", "term"])
        assert set(extra.index) == {("ipw", "regular"), ("ipw", "monthly_start"),
                                    ("ordinal", "sessions_per_month")}
        assert np.isfinite(extra[["estimate", "ci_low", "ci_high"]].to_numpy(float)).all()
        assert (extra["ci_low"] < extra["estimate"]).all()
        assert (extra["estimate"] < extra["ci_high"]).all()
        assert extra.loc[("ordinal", "sessions_per_month"), "ci_low"] > 1   # frequency helps

    def test_confounding_by_indication_switch(self):
        on = traps.confounding_by_indication(
            _table(_clinic(600, 1, confounding=1.0))).set_index("group").loc["trend"]
        off = traps.confounding_by_indication(
            _table(_clinic(600, 1, confounding=0.0))).set_index("group").loc["trend"]
        assert on["spearman_rho"] > 0.15 and on["p_value"] < 0.01
        assert abs(off["spearman_rho"]) < 0.1 and off["p_value"] > 0.05

    def test_regression_to_mean_switch(self):
        # the baseline flare and rater noise steepen the (negative) slope of change on baseline;
        # what remains without them is the real "more room to improve" of worse skin
        def slope(**changes):
            r = traps.regression_to_mean(_table(_clinic(1500, 1, **changes))).set_index("model")
            return r.loc["change vs baseline", "estimate"]

        assert slope() < slope(baseline_flare_mean=0.0, baseline_noise_sd=0.0,
                               rater_sd=0.0) - 0.15

    def test_informative_dropout_switch(self):
        def adjusted_gap(**changes):
            d = Analysis(_clinic(3000, 1, **changes), measure="pore").dropout().set_index("group")
            return d.loc["stopped - reached (adjusted)"]

        # patients also stop (and skip reviews) on their recorded ratings: switch that off too
        on = adjusted_gap()
        off = adjusted_gap(dropout_nonresponder=0.0, response_stop=0.0, loss_response=0.0)
        assert on["ci_high"] < 0
        assert off["ci_low"] < 0 < off["ci_high"]

    def test_sensitivity_grid(self, clinic):
        from outcomes.estimate import effects as models

        g = Analysis(clinic, measure="pore").sensitivity(
            landmarks=(120, 182), windows=(45,), gaps=(30,), treatments=None,
            raters=("clinician", "device"))
        assert list(g.columns) == ["setting", "value", "primary", "model", "term", "estimate",
                                   "ci_low", "ci_high", "n", "note"]
        assert set(g["setting"]) == {"landmark_days", "window_days", "permissible_gap", "rater"}
        primary = models.adjusted_effect(Analysis(clinic, measure="pore").table).iloc[0]
        prim = g[g["primary"] & (g["model"] == "adjusted")]
        assert np.allclose(prim["estimate"], primary["estimate"])
        device = g[(g["value"] == "device")]
        assert device["estimate"].isna().all() and (device["note"].str.len() > 0).all()
        short = g[(g["value"] == "120") & (g["model"] == "adjusted")].iloc[0]
        assert short["n"] != primary["n"]
        assert figures.sensitivity_plot(g).get_title() == "Sensitivity of the adjusted estimate"

    def test_bootstrap_covers_linear_truth(self):
        from outcomes.synthetic import clinic as synthetic

        sim = synthetic.simulate(600, seed=5, params=synthetic.SimParams.linear(beta=0.5))
        table = Analysis(sim.to_records(), measure="pore").table
        b = robustness.cluster_bootstrap(table, reps=150, seed=2, progress=False).iloc[0]
        assert b["ci_low"] < 0.5 < b["ci_high"]


def _table(records):
    return Analysis(records, measure="pore").table


def test_group_sizes_in_plot_labels_are_suppressed_below_five():
    """The forest plots label groups with their size; a group of 3 must read 'n=<5'."""
    import pandas as pd

    result = pd.DataFrame({"group": ["low", "middle", "high", "trend"], "n": [40, 25, 3, 68],
                           "baseline_mean": [3.0, 3.2, 3.6, None],
                           "ci_low": [2.8, 3.0, 3.1, None], "ci_high": [3.2, 3.4, 4.1, None]})
    ax = figures.indication_plot(result)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "high (n=<5)" in labels and "low (n=40)" in labels
    assert not any("n=3)" in label for label in labels)


# --------------------------------------------------------------------------------------------------
# the ordinal fit against statsmodels OrderedModel
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ordinal_problem():
    rng = np.random.default_rng(21)
    t = make_table(rng, 500, freq_effect=0.6, grade=True)
    covs = frames._covariates(t, None)
    df, _ = frames._model_frame(t, ["landmark", "baseline", "sessions_per_month"], covs)
    codes, _ = ordinal._collapse((-df["landmark"]).round(6), 10)
    x = frames._dummies(df, ["sessions_per_month", "baseline"], covs)
    return codes.to_numpy(int), x.loc[:, x.std() > 0]


class TestOrdinalAgainstStatsmodels:

    @pytest.mark.parametrize("distr", ["logit", "probit"])
    def test_same_likelihood_gradient_and_optimum(self, ordinal_problem, distr):
        import warnings

        from statsmodels.miscmodels.ordinal_model import OrderedModel

        from outcomes.estimate.ordinal import _Loglik, fit_ordinal

        codes, x = ordinal_problem
        ours = fit_ordinal(codes, x, distr=distr)
        model = OrderedModel(pd.Series(pd.Categorical(codes, ordered=True)), x, distr=distr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-9)
        assert ours.converged
        # the log-likelihood itself, and its analytic gradient against numerical differentiation
        nll = _Loglik(codes, x, distr)
        assert -nll(ref.params.to_numpy())[0] == pytest.approx(model.loglike(ref.params.to_numpy()),
                                                               rel=1e-12)
        np.testing.assert_allclose(-nll(ref.params.to_numpy())[1], model.score(ref.params.to_numpy()),
                                   rtol=1e-5, atol=1e-5)
        # ours is at least as good an optimum whether the reference converged or not; the strict
        # comparison only where it did (a test must not depend on the reference's convergence)
        assert ours.llf >= ref.llf - 1e-9 * abs(ref.llf)
        if not ref.mle_retvals.get("converged", False):
            warnings.warn("statsmodels OrderedModel did not converge; compared at the optimum: "
                          f"our log-likelihood {ours.llf:.6f} >= its {ref.llf:.6f}", stacklevel=1)
            return
        np.testing.assert_allclose(ours.params, ref.params, rtol=1e-6, atol=1e-6)
        assert ours.llf == pytest.approx(ref.llf, rel=1e-10)
        # statsmodels' standard errors come from a numerical Hessian of the log-likelihood
        np.testing.assert_allclose(ours.bse, ref.bse, rtol=1e-4)


def test_propensity_and_weighted_fit_match_statsmodels(ordinal_problem):
    """The vectorised Newton logistic fit and weighted least squares with HC3 against statsmodels
    GLM(Binomial) and WLS(cov_type="HC3") on the same design."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    _, x = ordinal_problem
    X = np.column_stack([np.ones(len(x)), x.to_numpy()])
    a = (rng.random(len(X)) < 1 / (1 + np.exp(-(X[:, 1] - X[:, 1].mean())))).astype(float)
    ref = sm.GLM(a, X, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(weighting._logistic_fit(X, a), ref.fittedvalues, rtol=1e-8)
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=len(X))
    w = rng.uniform(0.2, 3, len(X))
    beta, cov = weighting._wls_hc3(X, y, w)
    ref = sm.WLS(y, X, weights=w).fit(cov_type="HC3")
    np.testing.assert_allclose(beta, ref.params, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.bse, rtol=1e-8)
