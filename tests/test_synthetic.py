"""The synthetic clinic: record format, determinism, documented rates, literature magnitudes and the
planted truth (outcomes.synthetic)."""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes.cli import run_demo
from outcomes.records.scales import default_measures
from outcomes.synthetic import (
    ASSESSMENT_COLUMNS,
    DEMO_PATIENTS,
    DEMO_SEED,
    PATIENT_COLUMNS,
    SESSION_COLUMNS,
    STRATEGY_SCENARIOS,
    SimParams,
    protocol_response,
    simulate,
)

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_FILES = ["sessions.csv", "assessments.csv", "patients.csv", "dataset.toml"]
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def demo():
    return simulate(DEMO_PATIENTS, seed=DEMO_SEED)


@pytest.fixture(scope="module")
def big_flat():
    """3000 patients without confounding, so the adherence shares are the documented ones, and
    without attendance driven by the ratings, so the planned schedules are the documented ones."""
    return simulate(3000, seed=7, params=replace(SimParams(), confounding=0.0).without_response())


def _within(observed, expected, se, k=4.0):
    return abs(observed - expected) <= k * se


def _binom_ok(successes_mean, p, n, k=4.0):
    return _within(successes_mean, p, math.sqrt(p * (1 - p) / n), k)


def _days_since_t0(sim):
    s = sim.sessions.assign(date=pd.to_datetime(sim.sessions["date"]))
    t0 = s.groupby("patient_id")["date"].min().rename("t0")
    s = s.join(t0, on="patient_id")
    s["d"] = (s["date"] - s["t0"]).dt.days
    a = sim.assessments.assign(date=pd.to_datetime(sim.assessments["date"]))
    a = a.join(t0, on="patient_id")
    a["d"] = (a["date"] - a["t0"]).dt.days
    return s, a


def _design_estimand(sim, measure):
    """docs/methods.md §2 computed independently from the records: baseline, landmark, spm, improvement."""
    s, a = _days_since_t0(sim)
    prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
    base = prim[prim["d"].between(-30, 0)].sort_values("d").groupby("patient_id").last()
    near = prim[(prim["d"] - 182).abs() <= 45].assign(dist=lambda x: (x["d"] - 182).abs())
    land = near.sort_values(["dist", "d"]).groupby("patient_id").first()
    ids = base.index.intersection(land.index)
    out = pd.DataFrame({"baseline": base.loc[ids, measure], "landmark": land.loc[ids, measure],
                        "land_d": land.loc[ids, "d"]})
    cnt = s.join(out["land_d"], on="patient_id", how="inner")
    n_sess = cnt[cnt["d"] < cnt["land_d"]].groupby("patient_id").size()
    out["spm"] = n_sess.reindex(ids, fill_value=0) * 30.4375 / out["land_d"]
    out["improvement"] = out["baseline"] - out["landmark"]
    return out


class TestDeterminism:
    def test_same_seed_same_frames(self):
        a, b = simulate(200, seed=3), simulate(200, seed=3)
        for name in ("sessions", "assessments", "patients", "truth", "latent"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))

    def test_different_seed_different_records(self):
        a, b = simulate(200, seed=3), simulate(200, seed=4)
        assert not a.sessions.equals(b.sessions)
        assert not a.assessments.equals(b.assessments)

    def test_write_is_byte_stable(self, tmp_path, demo):
        demo.write(tmp_path / "one")
        demo.write(tmp_path / "two")
        for f in DEMO_FILES:
            raw = (tmp_path / "one" / f).read_bytes()
            assert raw == (tmp_path / "two" / f).read_bytes()
            assert b"\r" not in raw

    def test_bad_n_patients(self):
        with pytest.raises(ValueError, match="positive integer"):
            simulate(0)


class TestRecordFormat:
    def test_columns(self, demo):
        assert list(demo.sessions.columns) == SESSION_COLUMNS
        assert list(demo.assessments.columns) == ASSESSMENT_COLUMNS + ["pore", "texture"]
        assert list(demo.patients.columns) == PATIENT_COLUMNS
        assert demo.measures == default_measures()

    def test_sessions(self, demo):
        s = demo.sessions
        assert s["date"].map(lambda v: bool(ISO.match(v))).all()
        assert set(s["treatment"]) == {"microneedling", "hydrafacial"}
        mn = s["treatment"] == "microneedling"
        assert s.loc[mn, "depth_mm"].between(0.5, 2.5).all()
        assert (s.loc[mn, "depth_mm"] * 4 % 1 == 0).all()
        assert s.loc[~mn, "depth_mm"].isna().all()
        regions = {"nose", "chin", "forehead", "cheeks"}
        assert s["areas"].map(lambda v: set(v.split(";")) <= regions).all()
        assert s["clinician_id"].str.fullmatch(r"dr\d\d").all()
        assert not s.duplicated(["patient_id", "date"]).any()
        assert s[["patient_id", "date"]].equals(s[["patient_id", "date"]].sort_values(
            ["patient_id", "date"]).reset_index(drop=True))

    def test_assessments(self, demo):
        a = demo.assessments
        assert a["date"].map(lambda v: bool(ISO.match(v))).all()
        assert set(a["region"]) == {"face", "nose", "forehead", "chin", "cheeks"}
        assert set(a["rater"]) == {"clinician", "patient"}
        for m in ("pore", "texture"):
            assert a[m].between(0, 4).all() and a[m].notna().all()
            assert (a[m] * 2 % 1 == 0).all()
        assert not a.duplicated(["patient_id", "date", "region", "rater"]).any()
        assert set(a["patient_id"]) <= set(demo.patients["patient_id"])
        assert set(demo.sessions["patient_id"]) == set(demo.patients["patient_id"])

    def test_patients(self, demo):
        p = demo.patients
        assert p["patient_id"].is_unique and len(p) == DEMO_PATIENTS
        assert set(p["sex"]) <= {"F", "M", "X"}
        assert p["skin_type"].between(1, 6).all()
        assert set(p["smoker"]) <= {"never", "former", "current"}
        assert set(p["sun_exposure"]) <= {"low", "moderate", "high"}
        assert set(p["skincare"]) <= {"none", "basic", "medical"}
        assert set(p["concern"]) == {"enlarged", "clogged", "both"}
        assert p["clinic_id"].nunique() == 3
        assert p["age"].between(18, 75).all() and p["sleep_hours"].between(4, 10).all()

    def test_to_records(self, demo):
        rec = demo.to_records()
        assert len(rec.sessions) == len(demo.sessions)
        assert set(rec.measures) == {"pore", "texture"}

    def test_oily_zones_have_larger_pores(self, demo):
        a = demo.assessments[demo.assessments["rater"] == "clinician"]
        means = a.groupby("region")["pore"].mean()
        assert means["nose"] > means["cheeks"] + 0.5
        assert min(means["chin"], means["forehead"]) > means["cheeks"]


class TestRates:
    """Rates in the data against the documented parameters (binomial / CLT tolerances, 4 SE)."""

    def test_adherence_shares(self, big_flat):
        n = len(big_flat.latent)
        for kind, p in big_flat.params.adherence_shares.items():
            assert _binom_ok((big_flat.latent["adherence"] == kind).mean(), p, n), kind

    def test_dropout_share(self, big_flat):
        p = big_flat.params
        planned = p.adherence_shares["dropout"] + p.adherence_shares["single"]
        expected = planned + (1 - planned) * p.nonresponder_share * p.dropout_nonresponder
        lat = big_flat.latent
        assert _binom_ok(lat["dropout"].mean(), expected, len(lat))
        sessions = big_flat.sessions.groupby("patient_id").size()
        assert (sessions[lat.loc[lat["dropout"], "patient_id"]] <= 3).all()

    def test_loading_sessions_of_regular_attenders(self, big_flat):
        p = big_flat.params
        s, _ = _days_since_t0(big_flat)
        lat = big_flat.latent.set_index("patient_id")
        early = lat.index[(lat["adherence"] == "regular") & (lat["t0"] < "2024-12-01")]
        s = s[s["patient_id"].isin(early)].sort_values(["patient_id", "d"])
        gap = s.groupby("patient_id")["d"].diff()
        s = s.assign(broken=(gap > 50).groupby(s["patient_id"]).cumsum())
        n_load = s[s["broken"] == 0].groupby("patient_id").size()
        k = p.loading_max - p.loading_min
        expected = p.loading_min + k * p.loading_p
        se = math.sqrt(k * p.loading_p * (1 - p.loading_p) / len(n_load))
        assert _within(n_load.mean(), expected, se)
        loading_gaps = gap[(s["broken"] == 0) & gap.notna()]
        assert _within(loading_gaps.mean(), p.loading_gap_mean,
                       p.loading_gap_sd / math.sqrt(len(loading_gaps)) * 2)  # rounding, clip at 21

    def test_bunched_gaps(self, big_flat):
        s, _ = _days_since_t0(big_flat)
        lat = big_flat.latent.set_index("patient_id")
        bunched = lat.index[lat["adherence"] == "bunched"]
        s = s[s["patient_id"].isin(bunched)].sort_values(["patient_id", "d"])
        first_gap = s.groupby("patient_id")["d"].apply(lambda d: np.diff(d.to_numpy())[:1])
        first_gap = np.concatenate(first_gap.to_list())
        lo, hi = big_flat.params.bunched_gap_range
        assert ((first_gap >= lo) & (first_gap <= hi)).all()

    def test_hydrafacial_share_by_concern(self, big_flat):
        s = big_flat.sessions.join(big_flat.patients.set_index("patient_id")["concern"],
                                   on="patient_id")
        for concern, p in big_flat.params.hydrafacial_shares.items():
            sub = s[s["concern"] == concern]
            assert _binom_ok((sub["treatment"] == "hydrafacial").mean(), p, len(sub)), concern

    def test_assessment_rates(self, big_flat):
        p = big_flat.params
        lat = big_flat.latent
        assert _binom_ok(lat["has_baseline"].mean(), p.baseline_share, len(lat))
        a = big_flat.assessments
        prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
        n = len(prim)
        assert _binom_ok((a["region"] == "nose").sum() / n, p.region_rating_share, n)
        assert _binom_ok((a["rater"] == "patient").sum() / n, p.patient_rating_share, n)
        assert 0.5 < lat["has_landmark"].mean() < 0.8          # most, but not all

    def test_covariate_shares(self, big_flat):
        pat = big_flat.patients
        n = len(pat)
        for col, shares in (("sex", big_flat.params.sex_shares),
                            ("smoker", big_flat.params.smoker_shares),
                            ("concern", big_flat.params.concern_shares)):
            for value, p in shares.items():
                assert _binom_ok((pat[col] == value).mean(), p, n), (col, value)


class TestTraps:
    def test_confounding_by_indication(self):
        on = simulate(2000, seed=11).latent
        off = simulate(2000, seed=11, params=replace(SimParams(), confounding=0.0)).latent
        r_on = np.corrcoef(on["indication_z"], on["n_loading"])[0, 1]
        r_off = np.corrcoef(off["indication_z"], off["n_loading"])[0, 1]
        assert r_on > 0.15
        assert abs(r_off) < 4 / math.sqrt(2000)

    def test_informative_dropout(self):
        """The latent switch: only biological non-responders stop for being non-responders
        (patients also stop on what was recorded, ``dropout_reason == "response"``)."""
        lat = simulate(3000, seed=12).latent
        lat = lat[~lat["adherence"].isin(["dropout", "single"])]
        latent_stop = lat["dropout_reason"] == "non_responder"
        assert latent_stop[lat["nonresponder"]].mean() > 0.3
        assert not latent_stop[~lat["nonresponder"]].any()
        off = simulate(3000, seed=12, params=replace(SimParams(), dropout_nonresponder=0.0)).latent
        assert not (off["dropout_reason"] == "non_responder").any()
        quiet = simulate(3000, seed=12, params=replace(SimParams(), dropout_nonresponder=0.0)
                         .without_response()).latent
        assert not quiet.loc[~quiet["adherence"].isin(["dropout", "single"]), "dropout"].any()

    def test_without_traps_ratings_are_the_truth(self):
        sim = simulate(400, seed=13, params=SimParams().without_traps())
        _, a = _days_since_t0(sim)
        base = a[(a["d"] == 0) & (a["region"] == "face") & (a["rater"] == "clinician")]
        lat = sim.latent.set_index("patient_id").loc[base["patient_id"]]
        np.testing.assert_allclose(base["texture"].to_numpy(),
                                   np.clip(lat["true_baseline_texture"].to_numpy(), 0, 4),
                                   atol=1e-6)
        assert sim.measures["pore"].step is None

    def test_regression_to_the_mean_planted(self):
        # with the flare, observed baselines are worse than the truth on average (a wide scale and
        # no clinician bias, so clipping at 4 and the few clinicians' biases do not blur it)
        sim = simulate(2000, seed=14, params=replace(SimParams(), clinician_bias_sd=0.0,
                                                    scale_min=-50.0, scale_max=50.0))
        _, a = _days_since_t0(sim)
        base = a[(a["d"] == 0) & (a["region"] == "face") & (a["rater"] == "clinician")]
        true = sim.latent.set_index("patient_id").loc[base["patient_id"], "true_baseline_pore"]
        diff = base["pore"].to_numpy() - true.to_numpy()
        assert _within(diff.mean(), sim.params.baseline_flare_mean, diff.std() / math.sqrt(
            len(diff)))


class TestLiterature:
    def test_ablon_four_monthly_sessions_day_150(self):
        """Ablon 2018: texture −1.54 (99% CI 1.33–1.75) at day 150 after 4 sessions 30 d apart."""
        res = protocol_response([0, 30, 60, 90], 150, n_patients=4000, seed=1)
        texture = res.set_index("measure").loc["texture", "mean_improvement"]
        assert 1.33 <= texture <= 1.75

    def test_saturation_and_fading(self):
        def imp(days, at):
            res = protocol_response(days, at, n_patients=2000, seed=2)
            return res.set_index("measure").loc["texture", "mean_improvement"]
        one, four, six = imp([0], 30), imp([0, 30, 60, 90], 120), imp(
            [0, 30, 60, 90, 120, 150], 180)
        assert 0.3 <= four / 4 <= 0.5                       # ~0.3–0.4 grade per loading session
        assert six - four < 0.25 * four                       # saturated after 3–4 sessions
        later = imp([0, 30, 60, 90], 150 + 182)
        assert 0.4 <= later / imp([0, 30, 60, 90], 150) <= 0.6   # about half fades in 6 months
        assert one > 0

    def test_observed_texture_after_four_monthly_sessions(self):
        """In the records: patients with exactly 4 microneedling sessions 21–45 days apart before
        day 150 and a clinician rating at day 120–180: mean texture improvement ≈ 1.54.
        Tolerance 0.35 grades (~3 SE of this subgroup's mean; ratings carry the flare, rater noise
        and rounding, and the window around day 150 is wide). The subgroup is chosen by
        attendance, so the attendance traps are off: with attendance driven by the ratings
        "exactly 4 sessions" selects satisfied patients who spaced out after the fourth, and with
        confounding by indication it selects worse recorded baselines (regression to the mean) —
        traps for analyses, not the calibration this checks. About 1 patient in 90 has exactly
        this schedule in the clinic's attendance mix, hence 12,000 patients."""
        sim = simulate(12000, seed=21, params=replace(SimParams().without_response(),
                                                      confounding=0.0))
        s, a = _days_since_t0(sim)
        prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
        early = s[s["d"] < 150].sort_values(["patient_id", "d"])
        g = early.groupby("patient_id")
        stats = pd.DataFrame({"n": g.size(), "mn": g["treatment"].apply(
            lambda t: (t == "microneedling").all()), "gmin": g["d"].apply(
            lambda d: np.diff(d.to_numpy()).min(initial=999)), "gmax": g["d"].apply(
            lambda d: np.diff(d.to_numpy()).max(initial=0))})
        ok = stats.index[(stats["n"] == 4) & stats["mn"] & (stats["gmin"] >= 21)
                         & (stats["gmax"] <= 45)]
        base = prim[prim["d"].between(-30, 0)].sort_values("d").groupby("patient_id").last()
        fu = prim[prim["d"].between(120, 180)].assign(dist=lambda x: (x["d"] - 150).abs())
        fu = fu.sort_values(["dist", "d"]).groupby("patient_id").first()
        ids = ok.intersection(base.index).intersection(fu.index)
        assert len(ids) >= 40
        improvement = (base.loc[ids, "texture"] - fu.loc[ids, "texture"]).mean()
        assert abs(improvement - 1.54) <= 0.35


class TestTruth:
    def test_linear_truth_is_the_coefficient(self):
        sim = simulate(500, seed=31, params=SimParams.linear({"pore": 0.3, "texture": 0.8}))
        t = sim.truth.set_index(["measure", "estimand"])["value"]
        for m, beta in (("pore", 0.3), ("texture", 0.8)):
            assert abs(t[(m, "frequency_effect")] - beta) < 1e-9
            assert abs(t[(m, "frequency_effect_analysed")] - beta) < 1e-9
        assert (sim.truth["method"] == "crn_time_compression").all()

    def test_linear_records_carry_the_planted_line(self):
        """Without noise and covariate terms, improvement − beta·spm − intercept −
        c·(baseline − mean) is zero for every analysable patient, from the records alone."""
        p = SimParams.linear(0.5, linear_noise_sd=0.0, linear_covariate_coefs={})
        sim = simulate(400, seed=32, params=p)
        est = _design_estimand(sim, "pore")
        assert len(est) > 150
        resid = est["improvement"] - 0.5 * est["spm"] - p.linear_intercept["pore"] \
            - p.linear_baseline_coef["pore"] * (est["baseline"] - p.baseline_mean["pore"])
        np.testing.assert_allclose(resid, 0, atol=1e-5)
        lat = sim.latent.set_index("patient_id").loc[est.index]
        np.testing.assert_allclose(lat["sessions_per_month"], est["spm"], rtol=1e-12)

    def test_linear_ols_recovers_beta(self):
        sim = simulate(3000, seed=33, params=SimParams.linear(0.6))
        est = _design_estimand(sim, "texture").join(sim.patients.set_index("patient_id"))
        X = np.column_stack([np.ones(len(est)), est["spm"], est["baseline"], est["age"],
                             est["smoker"] == "current", est["sun_exposure"] == "high",
                             est["sleep_hours"]]).astype(float)
        coef, *_ = np.linalg.lstsq(X, est["improvement"].to_numpy(), rcond=None)
        resid = est["improvement"].to_numpy() - X @ coef
        cov = np.linalg.inv(X.T @ X) * resid.var(ddof=X.shape[1])
        assert _within(coef[1], 0.6, math.sqrt(cov[1, 1]))

    def test_realistic_truth_positive_and_from_the_biology(self, demo):
        t = demo.truth.set_index(["measure", "estimand"])["value"]
        for m in ("pore", "texture"):
            assert 0.1 < t[(m, "frequency_effect")] < 2.0
            assert t[(m, "frequency_effect_analysed")] > 0
        assert set(demo.truth.columns) == {"measure", "estimand", "value", "n", "method"}
        # no biology → no effect: the truth is computed from the simulated patients, not set
        none = simulate(300, seed=34, params=replace(SimParams(), gain_fraction={
            "pore": 0.0, "texture": 0.0}, natural_drift_per_year=0.0, hydrafacial_gain=0.0))
        assert np.allclose(none.truth["value"], 0, atol=1e-12)

    def test_realistic_truth_stable_in_the_step(self):
        a = simulate(1500, seed=35).truth.set_index(["measure", "estimand"])["value"]
        b = simulate(1500, seed=35, params=replace(SimParams(), truth_step=0.08)).truth.set_index(
            ["measure", "estimand"])["value"]
        for m in ("pore", "texture"):
            key = (m, "frequency_effect")
            assert abs(a[key] - b[key]) < 0.15 * abs(a[key])

    def test_consistency_effect(self):
        """The same four sessions do less when bunched or interrupted; the protocol rhythm pays no
        penalty; switching the trap off removes the difference due to it."""
        on, off = SimParams(), replace(SimParams(), consistency_bunch=0.0, consistency_lapse=0.0)

        def imp(days, at, p):
            res = protocol_response(days, at, n_patients=1000, seed=3, params=p)
            return res.set_index("measure").loc["texture", "mean_improvement"]
        monthly = [0, 30, 60, 90]
        assert imp(monthly, 150, on) == pytest.approx(imp(monthly, 150, off), abs=1e-12)
        for days, at in (([0, 10, 20, 30], 150), ([0, 30, 120, 150], 182)):
            assert imp(days, at, on) < imp(days, at, off) - 0.05
        assert imp([0, 10, 20, 30], 150, on) < imp(monthly, 150, on) - 0.2
        t = simulate(600, seed=36).truth.set_index(["measure", "estimand"])["value"]
        assert t[("texture", "regularity_effect_analysed")] > 0


class TestDemo:
    def test_run_demo_reproduces_the_shipped_files(self, tmp_path):
        out = tmp_path / "demo"
        assert run_demo(argparse.Namespace(dir=str(out), patients=None, seed=None)) == 0
        for f in DEMO_FILES:
            assert (out / f).read_bytes() == (DEMO_DIR / f).read_bytes(), f
        assert (DEMO_DIR / "README.md").exists()

    def test_cli_demo_small(self, tmp_path):
        from outcomes.cli import main
        assert main(["demo", str(tmp_path), "--patients", "20", "--seed", "1"]) == 0
        assert pd.read_csv(tmp_path / "patients.csv").shape[0] == 20

    def test_shipped_demo_loads_without_quarantine(self):
        from outcomes.records import load_records
        rec = load_records(DEMO_DIR)
        assert rec.n_quarantined == 0
        assert rec.loaded_rows["patients"] == DEMO_PATIENTS
        assert set(rec.measures) >= {"pore", "texture"}


class TestTruthCheck:
    def test_linear_scenario_estimate_sits_on_the_planted_truth(self):
        from outcomes.synthetic import SimParams, truth_check

        out = truth_check(500, seed=4, params=SimParams.linear(beta=0.5), traps=False)
        assert list(out["scenario"].unique()) == ["as simulated"]
        assert np.allclose(out["truth"], 0.5)
        assert out["covers"].all()
        assert (out["bias"].abs() < 3 * (out["ci_high"] - out["ci_low"]) / 3.92).all()

    def test_every_trap_is_switched_off_in_turn(self):
        from outcomes.synthetic import TRAPS, truth_check

        out = truth_check(200, seed=2, measures=("pore",))
        expected = ["as simulated", *[f"without {t}" for t in TRAPS], "without any trap"]
        assert out["scenario"].tolist() == expected
        assert np.allclose(out["bias"], out["adjusted"] - out["truth"])


# --------------------------------------------------------------------------------------------------
# The schedule comparison (docs/methods.md §4): followers, decisions on the recorded ratings, the truth
# --------------------------------------------------------------------------------------------------

LAST_DAY = pd.Timestamp("2025-12-30")        # SimParams().start_date + window_days - 1


def _followers_from_records(sim, strategies=None):
    """An independent follow check on the records alone: eligible patients (baseline in
    [t0-30, t0], t0 + 227 <= last day) with a landmark, and for each strategy whether every next
    session before the landmark falls in its window and no window closes before the landmark."""
    from outcomes.protocols import default_strategies

    strategies = strategies or default_strategies()
    s, a = _days_since_t0(sim)
    prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
    base = prim[prim["d"].between(-30, 0)].groupby("patient_id").size().index
    near = prim[(prim["d"] - 182).abs() <= 45].assign(dist=lambda x: (x["d"] - 182).abs())
    land = near.sort_values(["dist", "d"]).groupby("patient_id")["d"].first()
    t0 = s.groupby("patient_id")["t0"].first()
    ok_time = t0.index[t0 + pd.Timedelta(days=227) <= LAST_DAY]
    ids = base.intersection(ok_time).intersection(land.index)
    days = s.groupby("patient_id")["d"].apply(lambda d: sorted(d.to_list()))
    rows = {}
    for pid in ids:
        L, ds = land[pid], [d for d in days[pid] if d < land[pid]]
        res = {}
        for name, st in strategies.items():
            follows = True
            for k in range(1, len(ds) + 1):
                w = st.window(k)
                if k < len(ds):
                    gap = ds[k] - ds[k - 1]
                    if w is None or not w[0] <= gap <= w[1]:
                        follows = False
                        break
                elif w is not None and ds[-1] + w[1] < L:
                    follows = False
            res[name] = follows
        rows[pid] = res
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def _recorded_deltas(sim):
    """From the records: per (patient, session k >= 1) the recorded improvement (mean over pore
    and texture) of the latest primary rating at or before the session, since the recorded
    baseline (the rating before t0); NaN without a post-baseline rating."""
    s, a = _days_since_t0(sim)
    prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
    base = prim[prim["d"] <= 0].set_index("patient_id")[["pore", "texture"]]
    post = prim[prim["d"] > 0].sort_values(["patient_id", "d"])
    out = []
    for pid, ss in s.sort_values(["patient_id", "d"]).groupby("patient_id"):
        if pid not in base.index:
            continue
        r = post[post["patient_id"] == pid]
        ds = ss["d"].to_list()
        for k in range(1, len(ds)):
            seen = r[r["d"] <= ds[k]]
            delta = np.nan if seen.empty else float(
                (base.loc[pid] - seen.iloc[-1][["pore", "texture"]]).mean())
            out.append((pid, k, ds[k], ds[k + 1] if k + 1 < len(ds) else np.nan, delta))
    return pd.DataFrame(out, columns=["patient_id", "k", "day", "next_day", "delta"])


@pytest.fixture(scope="module")
def clinic1500():
    return simulate(1500, seed=1)


class TestStrategyFollowers:
    def test_every_default_strategy_is_followed_in_the_demo(self, demo):
        rec = _followers_from_records(demo)
        counts = rec.sum()
        assert (counts >= 25).all(), counts.to_dict()
        mine = demo.followers()
        mine = mine[mine["eligible"] & mine["has_landmark"]].set_index("patient_id")
        pd.testing.assert_frame_equal(mine[rec.columns].sort_index(), rec, check_names=False)

    def test_every_default_strategy_is_followed_in_a_1500_clinic(self, clinic1500):
        f = clinic1500.followers()
        counts = f[f["eligible"] & f["has_landmark"]][["protocol", "every_2_months", "monthly",
                                                       "single"]].sum()
        assert (counts >= 60).all(), counts.to_dict()

    @pytest.mark.parametrize("name", list(STRATEGY_SCENARIOS))
    def test_every_scenario_has_followers(self, name):
        f = simulate(1500, seed=2, params=STRATEGY_SCENARIOS[name]).followers()
        counts = f[f["eligible"] & f["has_landmark"]][["protocol", "every_2_months", "monthly",
                                                       "single"]].sum()
        assert (counts >= 60).all(), (name, counts.to_dict())

    def test_confounding_by_indication_in_the_new_patterns(self):
        lat = simulate(3000, seed=3).latent
        z = lat.groupby("adherence")["indication_z"].mean()
        assert z["monthly"] > 0.15 and z["single"] < -0.15


class TestResponseDrivenAttendance:
    def test_stopping_follows_the_recorded_ratings(self):
        """With response_stop = 1, every recorded non-responder (Δ <= 0 at a session from the
        second on) has no later session — computed from the records alone."""
        d = _recorded_deltas(simulate(800, seed=41, params=replace(
            SimParams(), response_stop=1.0, dropout_nonresponder=0.0)))
        non = d[d["delta"] <= 0]
        assert len(non) > 30
        assert non["next_day"].isna().all()
        # and the check has teeth: without the mechanism some of them go on
        d0 = _recorded_deltas(simulate(800, seed=41, params=replace(
            SimParams(), response_stop=0.0, dropout_nonresponder=0.0)))
        assert d0.loc[d0["delta"] <= 0, "next_day"].notna().sum() > 30

    def test_spacing_follows_the_recorded_ratings(self):
        """With response_space_prob = 1, the gap after a session with recorded Δ >= 1 is the
        planned gap times response_spacing; after any other session it is the planned gap."""
        p = replace(SimParams(), response_space_prob=1.0, response_stop=0.0)
        sim = simulate(800, seed=42, params=p)
        d = _recorded_deltas(sim).dropna(subset=["next_day"])
        pid_row = {pid: i for i, pid in enumerate(sim.patients["patient_id"])}
        planned = sim.state["plan"]["gaps"]
        gap_planned = np.array([planned[pid_row[pid], k] for pid, k in zip(d["patient_id"],
                                                                            d["k"])])
        gap = (d["next_day"] - d["day"]).to_numpy()
        spaced = (d["delta"] >= p.response_space_delta).to_numpy()
        assert spaced.sum() > 50
        np.testing.assert_array_equal(gap[spaced], np.round(gap_planned[spaced] * 1.6))
        np.testing.assert_array_equal(gap[~spaced], gap_planned[~spaced])

    def test_loss_follows_the_recorded_ratings(self):
        """loss_response = 1: no review after a recorded non-response (Δ <= 0) is attended."""
        p = replace(SimParams(), loss_response=1.0)
        sim = simulate(800, seed=43, params=p)
        st = sim.state
        obs, run = st["obs"], st["run"]
        # the decision Δ of each session equals the one recomputed from the records
        d = _recorded_deltas(sim).dropna(subset=["delta"])
        pid_row = {pid: i for i, pid in enumerate(sim.patients["patient_id"])}
        hidden = np.array([run["delta_at"][pid_row[pid], k] for pid, k in zip(d["patient_id"],
                                                                               d["k"])])
        np.testing.assert_allclose(hidden, d["delta"].to_numpy(), atol=1e-12)
        # reviews in the records window after a recorded non-response are never attended
        _, a = _days_since_t0(sim)
        prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
        rev = obs["rev"]
        base = prim[prim["d"] <= 0].set_index("patient_id")[["pore", "texture"]]
        post = prim[prim["d"] > 0]
        checked = 0
        for pid, r in post.groupby("patient_id"):
            if pid not in base.index:
                continue
            i = pid_row[pid]
            for j in range(rev.shape[1]):
                before = r[r["d"] < rev[i, j]]
                if before.empty or st["t0"][i] + rev[i, j] > 729:   # after the records window
                    continue
                delta = float((base.loc[pid] - before.sort_values("d").iloc[-1][
                    ["pore", "texture"]]).mean())
                if delta <= 0:
                    checked += 1
                    assert not run["rev_att"][i, j], (pid, j)
        assert checked > 30

    def test_switches_at_zero_reproduce_the_old_clinic(self):
        """With the new patterns' shares at 0, the response switches and followup_loss at 0, the
        clinic is the one of the code before issue 14 (commit d353513, simulate(20000, seed=5,
        followup_loss=0)): sessions per patient 5.0007 (SD 2.558), landmark share 0.7552, mean
        sessions a month 0.6101 (SD 0.2437), drop-out share 0.2619 — within 4 two-sample SE."""
        old = dict.fromkeys(SimParams().adherence_shares, 0.0) | {
            "regular": 0.47, "bunched": 0.15, "lapsed": 0.2, "dropout": 0.18}
        p = replace(SimParams().without_response(), adherence_shares=old, followup_loss=0.0)
        sim = simulate(20000, seed=5, params=p)
        lat = sim.latent
        n = 20000
        k = 4 * math.sqrt(2)
        ns = sim.sessions.groupby("patient_id").size()
        assert _within(ns.mean(), 5.0007, 2.558 / math.sqrt(n), k)
        assert _within(lat["has_landmark"].mean(), 0.7552, math.sqrt(0.7552 * 0.2448 / n), k)
        spm = lat["sessions_per_month"].dropna()
        assert _within(spm.mean(), 0.6101, 0.2437 / math.sqrt(len(spm)), k)
        assert _within(lat["dropout"].mean(), 0.2619, math.sqrt(0.2619 * 0.7381 / n), k)
        assert set(lat["dropout_reason"]) <= {"none", "planned", "non_responder"}


class TestStrategyTruth:
    def test_columns_rows_and_contrasts(self, demo):
        t = demo.strategy_truth()
        assert list(t.columns) == ["strategy", "measure", "mean_improvement", "n"]
        names = ["protocol", "every_2_months", "monthly", "single", "protocol - every_2_months",
                 "monthly - every_2_months", "single - every_2_months", "protocol - single"]
        assert t["strategy"].drop_duplicates().tolist() == names
        v = t.set_index(["strategy", "measure"])["mean_improvement"]
        for m in ("pore", "texture"):
            assert v[("protocol - single", m)] == pytest.approx(
                v[("protocol", m)] - v[("single", m)], abs=1e-12)
            assert v[("monthly - every_2_months", m)] == pytest.approx(
                v[("monthly", m)] - v[("every_2_months", m)], abs=1e-12)
            assert v[("protocol - single", m)] > 0.3        # treatment works
        assert (t["n"] == int(demo.latent["eligible"].sum())).all()

    def test_eligible_counted_from_the_records(self, demo):
        s, a = _days_since_t0(demo)
        prim = a[(a["region"] == "face") & (a["rater"] == "clinician")]
        base = set(prim.loc[prim["d"].between(-30, 0), "patient_id"])
        t0 = s.groupby("patient_id")["t0"].first()
        late_enough = set(t0.index[t0 + pd.Timedelta(days=227) <= LAST_DAY])
        assert int(demo.latent["eligible"].sum()) == len(base & late_enough)

    def test_single_session_truth_is_the_direct_computation(self):
        """No noise, no fading, no consistency effect: under `single` the improvement is
        B - S(L) with S(L) = s0 + drift·L/365.25 - inc0·(1 - exp(-L/21)) - clog·(HydraFacial
        cleansing), inc0 = clip(gain·response·(1 + 0.3(depth - 1.5)), 0, .95)·ceiling."""
        p = replace(STRATEGY_SCENARIOS["simple"], rater_sd=0.0, clinician_bias_sd=0.0,
                    rating_step=0.0, baseline_flare_mean=0.0, baseline_noise_sd=0.0,
                    scale_min=-50.0, scale_max=50.0)
        sim = simulate(600, seed=44, params=p)
        st = sim.state
        bio, plan, obs = st["bio"], st["plan"], st["obs"]
        el = st["eligible"]
        L = st["review_day"].astype(float)
        hydra0, depth0 = plan["hydra"][:, 0], plan["depth"][:, 0]
        t = sim.strategy_truth().set_index(["strategy", "measure"])["mean_improvement"]
        for m in ("pore", "texture"):
            eff = np.clip(p.gain_fraction[m] * bio["response"] * (1 + p.depth_effect
                                                                  * (depth0 - 1.5)), 0, 0.95)
            inc0 = np.where(hydra0, 0.0, eff * bio["ceiling"][m])
            S = bio["s0"][m] + p.natural_drift_per_year * L / 365.25 - inc0 * (
                1 - np.exp(-L / p.onset_days))
            if m == "pore":
                lam = math.log(2) / p.hydrafacial_half_life_days
                S = S - bio["clog"] * np.where(hydra0, np.minimum(
                    p.hydrafacial_gain * np.exp(-lam * L), 1.0), 0.0)
            B = bio["s0"][m] + p.natural_drift_per_year * obs["b_day"] / 365.25
            direct = (B - S)[el].mean()
            assert t[("single", m)] == pytest.approx(direct, abs=1e-6)   # ratings kept to 1e-6

    def test_monthly_truth_is_the_direct_computation(self):
        """No noise, no fading, no consistency effect: each microneedling session takes the share
        eff_k of the headroom left, so inc_k = eff_k·ceiling·Π_{j<k}(1 - eff_j) (HydraFacial
        slots add nothing to texture), seen as inc_k·(1 - exp(-(L - d_k)/21)) at L; the days
        d_k = d_{k-1} + 30 + clip(round(4 z_k), -7, 7) while d_k < L, z_k the patient's draws."""
        p = replace(STRATEGY_SCENARIOS["simple"], rater_sd=0.0, clinician_bias_sd=0.0,
                    rating_step=0.0, baseline_flare_mean=0.0, baseline_noise_sd=0.0,
                    scale_min=-50.0, scale_max=50.0)
        sim = simulate(300, seed=48, params=p)
        st = sim.state
        bio, plan, obs = st["bio"], st["plan"], st["obs"]
        L = st["review_day"].astype(float)
        direct = []
        for i in np.nonzero(st["eligible"])[0]:
            days, z = [0.0], plan["jitter"][i]
            while True:
                nxt = days[-1] + 30 + float(np.clip(np.round(4 * z[len(days)]), -7, 7))
                if nxt >= L[i]:
                    break
                days.append(nxt)
            left, benefit = bio["ceiling"]["texture"][i], 0.0
            for k, d in enumerate(days):
                if plan["hydra"][i, k]:
                    continue
                eff = min(max(p.gain_fraction["texture"] * bio["response"][i]
                              * (1 + p.depth_effect * (plan["depth"][i, k] - 1.5)), 0), 0.95)
                benefit += eff * left * (1 - math.exp(-(L[i] - d) / p.onset_days))
                left -= eff * left
            S = bio["s0"]["texture"][i] + p.natural_drift_per_year * L[i] / 365.25 - benefit
            B = bio["s0"]["texture"][i] + p.natural_drift_per_year * obs["b_day"][i] / 365.25
            direct.append(B - S)
        t = sim.strategy_truth().set_index(["strategy", "measure"])["mean_improvement"]
        assert t[("monthly", "texture")] == pytest.approx(np.mean(direct), abs=1e-6)

    def test_forcing_the_natural_schedule_reproduces_the_records(self, demo):
        """Forcing each patient's own schedule gives exactly the improvement recorded at their
        6-month review (same noise, bias, rounding)."""
        from outcomes.synthetic.truth import _forced_improvement

        st = demo.state
        run, obs = st["run"], st["obs"]
        imp = _forced_improvement(demo, run["days"], run["active"])
        six = obs["six"]
        _, a = _days_since_t0(demo)
        prim = a[(a["region"] == "face") & (a["rater"] == "clinician")].set_index(
            ["patient_id", "d"])
        lat = demo.latent
        checked = 0
        for i, pid in enumerate(demo.patients["patient_id"]):
            day = int(st["review_day"][i])
            on_session = run["rated"][i] & (run["days"][i] == day)
            if not (st["has_b"][i] and run["rev_att"][i, six]) or on_session.any() \
                    or (pid, day) not in prim.index:
                continue
            base = prim.loc[pid].query("d <= 0 and d >= -30").sort_index().iloc[-1]
            for m in ("pore", "texture"):
                assert base[m] - prim.loc[(pid, day), m] == pytest.approx(imp[m][i], abs=1e-12)
            checked += 1
        assert checked > 200
        assert lat["review_date"].notna().all()

    def test_truth_does_not_depend_on_attendance(self):
        """Only the biology and the measurement enter the truth: the attendance traps change who
        follows, not what a strategy would do."""
        a = simulate(500, seed=45, params=STRATEGY_SCENARIOS["ignorable_traps"]).strategy_truth()
        b = simulate(500, seed=45, params=replace(STRATEGY_SCENARIOS["ignorable_traps"],
                                                 confounding=0.0).without_response()
                     ).strategy_truth()
        pd.testing.assert_frame_equal(a, b)

    def test_unconfounded_followers_estimate_the_truth(self):
        """In the `simple` clinic (attendance independent of everything) the followers' mean
        recorded improvement at the landmark sits on the strategy's truth (4 SE + 0.1 grade:
        followers' own timings and landmark days differ a little from the forced ones)."""
        sim = simulate(6000, seed=46, params=STRATEGY_SCENARIOS["simple"])
        f = sim.followers()
        f = f[f["eligible"] & f["has_landmark"]].set_index("patient_id")
        est = _design_estimand(sim, "texture")
        t = sim.strategy_truth().set_index(["strategy", "measure"])["mean_improvement"]
        for name in ("protocol", "every_2_months", "monthly", "single"):
            y = est.loc[f.index[f[name]], "improvement"]
            se = y.std() / math.sqrt(len(y))
            assert abs(y.mean() - t[(name, "texture")]) < 4 * se + 0.1, name

    def test_linear_scenario_truth_is_the_planted_line(self):
        """linear: contrast = beta · mean((n_a - n_b) · 30.4375 / L) with n the nominal sessions
        before the 6-month review day L (jitter 0)."""
        from outcomes.protocols import default_strategies

        sim = simulate(400, seed=47, params=SimParams.linear(0.5, strategy_jitter_sd=0.0))
        t = sim.strategy_truth().set_index(["strategy", "measure"])["mean_improvement"]
        lat = sim.latent[sim.latent["eligible"]]
        L = (pd.to_datetime(lat["review_date"]) - pd.to_datetime(lat["t0"])).dt.days.to_numpy()
        st = default_strategies()
        n_m = np.array([len(st["monthly"].nominal_days(x)) for x in L])
        n_e = np.array([len(st["every_2_months"].nominal_days(x)) for x in L])
        expected = 0.5 * np.mean((n_m - n_e) * 30.4375 / L)
        for m in ("pore", "texture"):
            assert t[("monthly - every_2_months", m)] == pytest.approx(expected, abs=1e-9)


class TestSpeed:
    def test_simulate_1500_is_fast(self):
        import time

        start = time.perf_counter()
        simulate(1500, seed=1)
        assert time.perf_counter() - start < 1.5
