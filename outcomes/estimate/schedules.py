"""Schedules compared: the emulated target trial (clone–censor–weight), docs/methods.md §4.

The question: *had every eligible patient followed schedule g, what would their mean improvement at
the landmark have been — and how much better is the protocol than coming every two months?*

Protocol of the emulated trial
------------------------------
treatment under study
    one treatment (``treatment``; default ``[analysis] treatment`` of dataset.toml, else the most
    frequent): only its sessions count and set t0; other treatments neither count nor deviate.
eligibility
    a first session of that treatment (t0) at least ``washout_days`` (90) after the records
    begin (a new patient, not one treated before them), a baseline rating in ``[t0 − 30, t0]``
    and enough time in the records to reach the landmark (``t0 + L + window ≤`` the last date).
time zero
    t0. Every eligible patient is a candidate for every strategy (:mod:`outcomes.strategies`).
follow-up
    from t0 to day L for every patient — never set by the outcome. Sessions on or after day L
    are outside every schedule.
outcome
    improvement (positive = better) at the rating closest to day L within ± window, among the
    ratings dated no later than the first session on or after day L (a rating on a session's
    day is taken before it): no session after the landmark is ever in the outcome. Without such
    a rating the outcome is missing (loss to follow-up).
estimand
    ``μ_g = E[Y^g]`` over the eligible patients, and ``μ_g − μ_ref``.

Estimator
---------
1. **Clones and deviation steps.** Each eligible patient is cloned into every strategy. Step k
   starts right after the k-th on-schedule session (day ``s_k``); the clone *stays* in step k when
   its next session comes inside the window ``s_k + [lo_k, hi_k]``, or when it reaches L with no
   session too early and no window closed. It *deviates* at a session before ``s_k + lo_k``
   ("too early") or on day ``s_k + hi_k + 1`` with no session ("window missed"), if that is before
   L. Deviation censors the clone.
2. **Weights for deviation.** Per strategy, a pooled logistic model of staying at each step on
   the history at ``s_k`` (baseline, latest interim changes of every measure, days since t0 and
   since the previous session, step, covariates), Newton–Raphson on that strategy's step rows.
3. **Weights for loss to follow-up.** One logistic model of having an outcome, on the history
   strictly before ``t0 + L − window`` (ratings up to the day before, sessions before it).
4. ``w = Π_k 1 / P(stay_k) × 1 / P(observed)``, truncated at the ``truncate`` quantile.
5. **Means.** The headline is the weighted iterated conditional expectation (sequentially
   doubly robust; :mod:`outcomes.estimate.sequential`). Beside it: IPW (Hájek), the unweighted
   ICE g-formula and the followers' plain mean. When IPW lies outside the headline's interval
   a note says so.
6. **Uncertainty.** Patient-level bootstrap (case weights; clones of one patient move together);
   ``normal`` (default: estimate ± 1.96 bootstrap SE, chosen by measured coverage, methods
   §6.6), ``percentile`` or ``bca`` intervals; the replicates' mean minus the
   estimate is reported as ``boot_bias``.
7. **Positivity.** A strategy whose followers' *effective* number (Kish) is below
   ``min_followers`` gets no number — on the records and in each replicate (such a replicate is
   counted in ``failed_replicates`` and gives no number). The fragile rule
   (:mod:`outcomes.estimate.schedule_fragility`) says in words when a number is fragile.
8. **How wrong could it be.** A tipping point for patients who stopped without a rating showing
   why, and an E-value per contrast (:mod:`outcomes.estimate.schedule_sensitivity`).

The per-session slope of :mod:`outcomes.models` is an association: with a saturating and fading
benefit one more session a month is not one effect, and patients who see no change stop coming, so
that slope mixes the effect of sessions with the effect of response on attendance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import RecordsError
from ..privacy import suppress_count
from ..protocols import Strategy
from ..records import Records
from ..records.dataset import read_strategies
from .mixed import one_blas_thread
from .schedule_fragility import fragility, stay_table, strata_table, structural_gaps
from .schedule_sensitivity import add_e_values, tipping_table
from .schedule_tables import (
    _balance_table,
    _followers_table,
    _loss_table,
    _notes,
    _protocol_table,
    _weights_table,
)
from .target_trial import _arm, _build_trial, _estimate, _standardise, follow_strategy

__all__ = [
    "SCHEDULE_COLUMNS",
    "ScheduleComparison",
    "compare_strategies",
    "follow_strategy",
]

#: Columns of :attr:`ScheduleComparison.results` (one row per strategy and per contrast).
SCHEDULE_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error",
                    "ipw_estimate", "ice_estimate", "naive_estimate", "n", "n_followed",
                    "n_outcome", "effective_n", "fragile", "fragile_reasons", "boot_bias",
                    "failed_replicates", "unsettled_fits", "e_value", "e_value_ci", "p_value",
                    "note"]

#: Interval methods of the bootstrap (docs/methods.md §6.6).
INTERVALS = ("percentile", "normal", "bca")



# -------------------------------------------------------------------------------------------------
# the results object
# -------------------------------------------------------------------------------------------------

@dataclass
class ScheduleComparison:
    """The schedule comparison of one measure: results, diagnostics and the settings behind them.

    Attributes
    ----------
    results : DataFrame
        :data:`SCHEDULE_COLUMNS`; one row per strategy (``term`` = its name, ``estimate`` = the
        sequentially doubly robust mean improvement (weighted ICE), ``ipw_estimate`` the
        weighted mean, ``ice_estimate`` the unweighted ICE g-formula, ``naive_estimate`` the
        plain mean of the followers) and one per contrast ``"NAME - REFERENCE"``. A strategy
        that is not estimable has ``estimate``, ``ci_low``, ``ci_high`` missing and says why in
        ``note``. ``effective_n``: Kish effective number of the followers' weights (a contrast:
        the smaller of its two); ``fragile`` / ``fragile_reasons``: the fragile rule and its
        reasons in plain words ("" when not fragile; a contrast is fragile when either strategy
        is); ``boot_bias``: mean of the replicates minus the estimate; ``failed_replicates``:
        replicates that gave no number (effective followers below ``min_followers``);
        ``unsettled_fits``: replicates whose weight models did not converge; ``e_value``,
        ``e_value_ci``: E-values of the contrasts.
    followers : DataFrame
        Per strategy and step: clones at risk, staying, deviating (too early / window missed),
        share of the eligible patients still following.
    weights : DataFrame
        Per strategy: patients with an outcome, largest and mean weight, effective sample size,
        share truncated.
    balance : DataFrame
        Per strategy and covariate: standardised mean difference between the followers with an
        outcome and all eligible patients, before and after weighting.
    sensitivity : DataFrame
        Contrasts with the grace windows halved and widened by half.
    loss : DataFrame
        Share of eligible patients with a landmark rating, by interim response.
    protocol : DataFrame
        The emulated trial's protocol (eligibility, time zero, strategies, outcome, estimand,
        analysis) filled from the settings.
    notes : list of str
        Plain-language warnings (no interim ratings, weight models that did not converge, …).
    settings : dict
    excluded : dict
        Patients left out before time zero, by reason (washout included).
    strata : DataFrame
        Followers by clinic, sex, skin type and age band per strategy.
    stay : DataFrame
        Distribution of the fitted probability of staying per strategy and step.
    tipping : DataFrame
        Tipping points for patients who stopped without a rating showing why.
    """

    results: pd.DataFrame
    followers: pd.DataFrame
    weights: pd.DataFrame
    balance: pd.DataFrame
    sensitivity: pd.DataFrame
    loss: pd.DataFrame
    protocol: pd.DataFrame
    notes: list[str]
    settings: dict
    excluded: dict
    replicates: dict = field(default_factory=dict)
    point: dict = field(default_factory=dict)
    strata: pd.DataFrame = field(default_factory=pd.DataFrame)
    stay: pd.DataFrame = field(default_factory=pd.DataFrame)
    jackknife: dict = field(default_factory=dict)
    tipping: pd.DataFrame = field(default_factory=pd.DataFrame)

    def contrast(self, name: str, other: str) -> dict:
        """Difference ``name − other`` of two strategies' doubly robust means with its bootstrap
        95% CI by the comparison's interval method (any pair, not only against the reference);
        NaN when either is not estimable."""
        res = self.results.set_index("term")
        for s in (name, other):
            if s not in res.index or " - " in s:
                raise RecordsError(f"The value for `name`/`other` must be one of "
                                   f"{list(self.settings['strategies'])}, but {s!r} was passed.")
        a, b = res.loc[name], res.loc[other]
        if not (np.isfinite(a["estimate"]) and np.isfinite(b["estimate"])):
            return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "std_error": np.nan}
        est = float(a["estimate"] - b["estimate"])
        jack = (self.jackknife[name] - self.jackknife[other]) if name in self.jackknife else None
        lo, hi, se = (_ci(self.replicates[name] - self.replicates[other], est,
                          self.settings.get("interval", "normal"), jack)
                      if name in self.replicates else (np.nan,) * 3)
        return {"estimate": est, "ci_low": lo, "ci_high": hi, "std_error": se}


def _check_settings(strategies: dict, reference: str, min_followers, boot, truncate, seed):
    if reference not in strategies:
        raise RecordsError(f"The value for `reference` must be one of {list(strategies)}, but "
                           f"{reference!r} was passed.")
    for name, value, low in (("min_followers", min_followers, 1), ("boot", boot, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise RecordsError(f"`{name}` must be a whole number ≥ {low}, but {value!r} was "
                               "passed.")
    if truncate is not None and not (0.5 < float(truncate) <= 1.0):
        raise RecordsError(f"`truncate` must be a quantile in (0.5, 1] or None, but {truncate!r} "
                           "was passed.")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise RecordsError(f"`seed` must be a whole number, but {seed!r} was passed.")


def _resolve_strategies(records: Records, strategies) -> dict[str, Strategy]:
    if strategies is None:
        source = getattr(records, "source", None)
        path = None if source is None else source / "dataset.toml"
        return read_strategies(path)
    if isinstance(strategies, dict):
        return dict(strategies)
    out = {}
    for s in strategies:
        if not isinstance(s, Strategy):
            raise RecordsError(f"`strategies` must hold Strategy objects, but {s!r} was passed.")
        out[s.name] = s
    return out


def compare_strategies(records: Records, *, measure: str = "pore", landmark_days: int = 182,
                       window_days: int = 45, baseline_days: int = 30, treatments=None,
                       strategies: dict[str, Strategy] | Iterable[Strategy] | None = None,
                       reference: str = "every_2_months", min_followers: int = 10,
                       boot: int = 200, seed: int = 1, truncate: float | None = 0.99,
                       region: str = "face", rater: str = "clinician", sensitivity: bool = True,
                       progress: bool = False, derived: dict | None = None,
                       treatment: str | None = None, washout_days: int = 90,
                       interval: str = "normal") -> ScheduleComparison:
    """Compare schedules as an emulated target trial (clone–censor–weight; module docstring).

    Parameters
    ----------
    records : Records
    measure : str
        The measure whose improvement is the outcome.
    landmark_days, window_days, baseline_days : int
        The landmark L (days after t0), its window and the baseline window, as in
        :func:`outcomes.ratings.landmark_ratings`.
    treatments : str or list, optional
        Not used by the comparison (kept for callers): only ``treatment`` counts.
    strategies : dict or list of Strategy, optional
        Default: the four defaults plus any declared in the records' ``dataset.toml``.
    reference : str
        The strategy every other one is compared with (default ``every_2_months``).
    min_followers : int
        Fewest *effective* followers (Kish, of the followers' weights) for a strategy to get a
        number — on the records and in every bootstrap replicate.
    boot : int
        Bootstrap replicates (0: no confidence intervals).
    seed : int
        Seed of the bootstrap.
    truncate : float or None
        Quantile at which weights are truncated (None: not truncated).
    sensitivity : bool
        Also compute the contrasts with the grace windows halved and widened by half.
    progress : bool
        Show a progress bar over the bootstrap replicates (on standard error).
    derived : dict, optional
        Tables already derived for exactly these settings and ``treatments=(treatment,)``
        (``ratings``, ``sessions``, ``primary``); not recomputed.
    treatment : str, optional
        The treatment under study (its sessions count and set t0; others neither count nor
        deviate). Default: ``[analysis] treatment`` of dataset.toml, else the most frequent.
    washout_days : int
        Patients whose first session falls in the records' first ``washout_days`` days are not
        new patients: left out (counted in ``excluded``).
    interval : str
        ``"normal"`` (default; estimate ± 1.96 bootstrap SE), ``"percentile"`` or ``"bca"``
        (bias-corrected and accelerated, acceleration from a patient jackknife of groups). The
        default is the method whose coverage was closest to 95 % without falling short on
        simulated clinics (docs/methods.md §6.6).

    Returns
    -------
    ScheduleComparison
    """
    strategies = _resolve_strategies(records, strategies)
    _check_settings(strategies, reference, min_followers, boot, truncate, seed)
    if interval not in INTERVALS:
        raise RecordsError(f"The value for `interval` must be one of {list(INTERVALS)}, but "
                           f"{interval!r} was passed.")
    if isinstance(washout_days, bool) or not isinstance(washout_days, (int, np.integer)) \
            or washout_days < 0:
        raise RecordsError(f"`washout_days` must be a whole number ≥ 0, but {washout_days!r} "
                           "was passed.")
    with one_blas_thread():    # many small products: BLAS threads only spin (outcomes.mixed)
        return _compare(records, measure, landmark_days, window_days, baseline_days, treatment,
                        washout_days, strategies, reference, min_followers, boot, seed,
                        truncate, region, rater, sensitivity, progress, derived, interval)


def _compare(records, measure, landmark_days, window_days, baseline_days, treatment,
             washout_days, strategies, reference, min_followers, boot, seed, truncate, region,
             rater, sensitivity, progress, derived, interval) -> ScheduleComparison:
    trial = _build_trial(records, measure, landmark_days=landmark_days, window_days=window_days,
                         baseline_days=baseline_days, treatment=treatment, region=region,
                         rater=rater, washout_days=washout_days, derived=derived)
    settings = {"measure": measure, "landmark_days": landmark_days, "window_days": window_days,
                "baseline_days": baseline_days, "treatment": trial.treatment or None,
                "washout_days": washout_days, "reference": reference,
                "min_followers": min_followers, "boot": boot, "seed": seed, "truncate": truncate,
                "region": region, "rater": rater, "interval": interval,
                "strategies": {k: v.label for k, v in strategies.items()},
                "short": {k: v.short() for k, v in strategies.items()}}
    notes = []
    n = len(trial.ids)
    if n == 0:
        empty = _not_estimable_results(measure, strategies, reference, 0,
                                       "no eligible patient (a first session, a baseline rating "
                                       "and time to reach the landmark)")
        return ScheduleComparison(empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                  pd.DataFrame(), pd.DataFrame(),
                                  _protocol_table(settings, strategies), notes, settings,
                                  trial.excluded)
    arms = {name: _arm(trial, s, baseline_days) for name, s in strategies.items()}
    ltfu_X = _standardise(np.column_stack([np.ones(n), trial.ltfu_X] +
                                          ([trial.X] if trial.X.shape[1] else [])))
    point = _estimate(trial, arms, ltfu_X, np.ones(n), truncate, want_weights=True)
    reps = _bootstrap(trial, arms, ltfu_X, boot, seed, truncate, progress, point,
                      min_followers)
    strata = strata_table(trial, arms)
    frag = {name: fragility(point[name], reps[name], strata, name, min_followers, boot)
            for name in arms}
    jack = _jackknife(trial, arms, ltfu_X, truncate, point) if interval == "bca" and boot else {}
    results = _results_table(measure, trial, arms, point, reps, reference, min_followers, frag,
                             interval, jack)
    notes += _notes(trial, arms, point)
    notes += _disagreement_notes(results)
    for name in arms:
        for _, g in structural_gaps(strata, name).iterrows():
            notes.append(f"No patient in {g['variable']} {g['level']} ({g['eligible']} eligible) "
                         f"kept to '{name}': its number speaks only for patients who could "
                         "follow it, not for every eligible patient.")
    sens = _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, truncate,
                        min_followers, measure, point) if sensitivity else pd.DataFrame()
    out = ScheduleComparison(results, _followers_table(trial, arms),
                             _weights_table(arms, point), _balance_table(trial, arms, point),
                             sens, _loss_table(trial), _protocol_table(settings, strategies),
                             notes, settings, trial.excluded,
                             replicates={k: v["dr"] for k, v in reps.items()},
                             point={k: {"dr": v["dr"], "ipw": v["ipw"], "naive": v["naive"],
                                        "ice": v["ice"], "n_outcome": v["n_outcome"],
                                        "effective_n": v["ess"]}
                                    for k, v in point.items()})
    out.strata = strata
    out.stay = stay_table(arms, point)
    out.jackknife = jack
    out.tipping = tipping_table(trial, arms, results, reference)
    return out


def _bootstrap(trial, arms, ltfu_X, boot, seed, truncate, progress, point, min_followers
               ) -> dict[str, dict]:
    """Every replicate's means per strategy; a replicate in which a strategy's effective
    followers fall below ``min_followers`` gives that strategy no number (NaN, counted in
    ``failed``), and a weight fit that did not settle is counted in ``unsettled``."""
    n = len(trial.ids)
    init = {name: e["beta"] for name, e in point.items() if e["beta"] is not None}
    if point:
        first = next(iter(point.values()))
        init["_ltfu"] = first["beta_ltfu"]
        init["_hess_inv"] = {name: e["hess_inv"] for name, e in point.items()
                             if e.get("hess_inv") is not None}
        if first.get("hess_inv_ltfu") is not None:
            init["_hess_inv"]["_ltfu"] = first["hess_inv_ltfu"]
    rng = np.random.default_rng(seed)
    out = {name: {"dr": np.full(boot, np.nan), "ipw": np.full(boot, np.nan),
                  "ice": np.full(boot, np.nan), "ess": np.full(boot, np.nan),
                  "failed": 0, "unsettled": 0, "boot": boot} for name in arms}
    iterator = range(boot)
    if progress and boot:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="bootstrap", unit="replicate", leave=False)
    for b in iterator:
        cw = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
        est = _estimate(trial, arms, ltfu_X, cw, truncate, init=init, methods=("dr",))
        for name, e in est.items():
            o = out[name]
            o["ess"][b] = e["ess"]
            o["unsettled"] += int(not e["converged"])
            if not e["ess"] >= min_followers or not np.isfinite(e["dr"]):   # NaN: failed too
                o["failed"] += 1
                continue
            o["dr"][b], o["ipw"][b], o["ice"][b] = e["dr"], e["ipw"], e["ice"]
    return out


def _jackknife(trial, arms, ltfu_X, truncate, point, groups: int = 20) -> dict:
    """Grouped delete-a-group jackknife of the weighted-ICE means (the BCa acceleration): the
    patients in ``groups`` random groups, each left out in turn."""
    n = len(trial.ids)
    g = np.random.default_rng(0).permutation(n) % groups
    init = {name: e["beta"] for name, e in point.items() if e["beta"] is not None}
    init["_ltfu"] = next(iter(point.values()))["beta_ltfu"]
    out = {name: np.full(groups, np.nan) for name in arms}
    for j in range(groups):
        est = _estimate(trial, arms, ltfu_X, (g != j).astype(float), truncate, init=init,
                        methods=("dr",))
        for name, e in est.items():
            out[name][j] = e["dr"]
    return out


def _ci(values: np.ndarray, estimate: float = np.nan, method: str = "percentile",
        jack: np.ndarray | None = None) -> tuple[float, float, float]:
    """95 % interval and bootstrap SE of the replicates ``values`` by ``method``."""
    v = values[np.isfinite(values)]
    if len(v) < 10:
        return np.nan, np.nan, np.nan
    se = float(v.std(ddof=1))
    if method == "normal" and np.isfinite(estimate):
        return estimate - 1.959964 * se, estimate + 1.959964 * se, se
    qs = np.array([0.025, 0.975])
    if method == "bca" and np.isfinite(estimate) and jack is not None \
            and np.isfinite(jack).sum() >= 3:
        from scipy.stats import norm

        prop = np.clip(np.mean(v < estimate) + 0.5 * np.mean(v == estimate), 1 / len(v),
                       1 - 1 / len(v))
        z0 = norm.ppf(prop)
        j = jack[np.isfinite(jack)]
        d = j.mean() - j
        den = 6 * np.sum(d ** 2) ** 1.5
        a = float(np.sum(d ** 3) / den) if den > 0 else 0.0
        z = norm.ppf(qs)
        qs = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.quantile(v, qs)
    return float(lo), float(hi), se


def _results_table(measure, trial, arms, point, reps, reference, min_followers, frag,
                   interval="percentile", jack=None) -> pd.DataFrame:
    n = len(trial.ids)
    jack = jack or {}
    rows = []
    ok = {}
    for name, arm in arms.items():
        e = point[name]
        n_out = e["n_outcome"]
        n_fol = int(arm.followed.sum())
        ok[name] = e["ess"] >= min_followers and np.isfinite(e["dr"])
        r = reps[name]
        row = {"measure": measure, "model": "strategy", "term": name, "n": n, "n_followed": n_fol,
               "n_outcome": n_out, "p_value": np.nan, "effective_n": e["ess"],
               "fragile": frag[name][0], "fragile_reasons": frag[name][1],
               "failed_replicates": r["failed"], "unsettled_fits": r["unsettled"]}
        if ok[name]:
            jn = jack.get(name)
            lo, hi, se = _ci(r["dr"], e["dr"], interval, jn)
            v = r["dr"][np.isfinite(r["dr"])]
            row.update(estimate=e["dr"], ci_low=lo, ci_high=hi, std_error=se,
                       ipw_estimate=e["ipw"], ice_estimate=e["ice"], naive_estimate=e["naive"],
                       boot_bias=float(v.mean() - e["dr"]) if len(v) >= 10 else np.nan,
                       note=f"{arm.strategy.label}; followed to the review by "
                            f"{suppress_count(n_out)} of {n} eligible patients (effective "
                            f"{e['ess']:.0f})")
        else:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       ipw_estimate=np.nan, ice_estimate=np.nan, naive_estimate=np.nan,
                       boot_bias=np.nan,
                       note=f"not estimable: only {suppress_count(n_out)} patients followed it "
                            f"to the review (effective {e['ess']:.0f}; at least "
                            f"{min_followers} needed)")
        rows.append(row)
    for name in arms:
        if name == reference:
            continue
        term = f"{name} - {reference}"
        reasons = [f"{s}: {frag[s][1]}" for s in (name, reference) if frag[s][0]]
        row = {"measure": measure, "model": "strategy", "term": term, "n": n,
               "n_followed": int(arms[name].followed.sum()),
               "n_outcome": point[name]["n_outcome"], "ipw_estimate": np.nan,
               "ice_estimate": np.nan, "naive_estimate": np.nan, "p_value": np.nan,
               "effective_n": min(point[name]["ess"], point[reference]["ess"]),
               "fragile": bool(frag[name][0] or frag[reference][0]),
               "fragile_reasons": "; ".join(reasons),
               "failed_replicates": int(np.sum(~np.isfinite(reps[name]["dr"])
                                               | ~np.isfinite(reps[reference]["dr"])))
               if reps[name]["boot"] else 0,
               "unsettled_fits": reps[name]["unsettled"] + reps[reference]["unsettled"],
               "boot_bias": np.nan}
        if ok[name] and ok[reference]:
            diff = reps[name]["dr"] - reps[reference]["dr"]
            est = point[name]["dr"] - point[reference]["dr"]
            jd = (jack[name] - jack[reference]) if name in jack else None
            lo, hi, se = _ci(diff, est, interval, jd)
            v = diff[np.isfinite(diff)]
            p = (min(1.0, 2 * min((v <= 0).mean(), (v >= 0).mean()) + 1 / (len(v) + 1))
                 if len(v) >= 10 else np.nan)
            row.update(estimate=est, ci_low=lo, ci_high=hi, std_error=se, p_value=p,
                       boot_bias=float(v.mean() - est) if len(v) >= 10 else np.nan,
                       ipw_estimate=point[name]["ipw"] - point[reference]["ipw"],
                       ice_estimate=point[name]["ice"] - point[reference]["ice"],
                       naive_estimate=point[name]["naive"] - point[reference]["naive"],
                       note="difference in mean improvement")
        else:
            bad = [s for s in (name, reference) if not ok[s]]
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       note="not estimable: " + " and ".join(bad) + " followed by too few "
                            "patients")
        rows.append(row)
    out = pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)
    seen = trial.outcome[np.isfinite(trial.outcome)]
    ev = add_e_values(out, float(seen.std(ddof=1)) if len(seen) > 1 else np.nan)
    out["e_value"], out["e_value_ci"] = ev["e_value"], ev["e_value_ci"]
    out["fragile"] = out["fragile"].astype(bool)
    out["fragile_reasons"] = out["fragile_reasons"].fillna("").astype(str)
    return out


def _disagreement_notes(results: pd.DataFrame) -> list[str]:
    """A sentence per strategy whose weighted mean (IPW) lies outside the doubly robust
    interval — the two should agree when the models are right."""
    notes = []
    for _, r in results[~results["term"].str.contains(" - ")].iterrows():
        if not np.isfinite(r["ci_low"]) or not np.isfinite(r["ipw_estimate"]):
            continue
        if not r["ci_low"] <= r["ipw_estimate"] <= r["ci_high"]:
            notes.append(f"For '{r['term']}' the two ways of correcting disagree: the weighted "
                         f"mean ({r['ipw_estimate']:.2f}) lies outside the interval of the "
                         f"headline ({r['ci_low']:.2f} to {r['ci_high']:.2f}); the models of who "
                         "kept to it or of how they improved may be wrong — treat it with care.")
    return notes


def _not_estimable_results(measure, strategies, reference, n, why) -> pd.DataFrame:
    rows = [{"measure": measure, "model": "strategy", "term": t, "n": n, "n_followed": 0,
             "n_outcome": 0, "effective_n": 0.0, "fragile": True,
             "fragile_reasons": "no patient could be compared", "failed_replicates": 0,
             "unsettled_fits": 0, "note": f"not estimable: {why}"}
            for t in list(strategies) + [f"{s} - {reference}" for s in strategies
                                         if s != reference]]
    return pd.DataFrame(rows).reindex(columns=SCHEDULE_COLUMNS)


def _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, truncate,
                 min_followers, measure, point=None) -> pd.DataFrame:
    """The contrasts with every grace window × 0.5, × 1 (the point estimate itself) and × 1.5.
    (Their fits start afresh: started from the point fit's coefficients, the wider windows' fits
    went astray on the demo.)"""
    rows = []
    n = len(trial.ids)
    for factor in (0.5, 1.0, 1.5):
        if factor == 1.0 and point:
            est = point
        else:
            scaled = {k: _scaled(s, factor) for k, s in strategies.items()}
            arms = {k: _arm(trial, s, baseline_days) for k, s in scaled.items()}
            est = _estimate(trial, arms, ltfu_X, np.ones(n), truncate, methods=("dr",))
        for name in strategies:
            if name == reference:
                continue
            ok = est[name]["ess"] >= min_followers and est[reference]["ess"] >= min_followers
            rows.append({"measure": measure, "grace": factor, "contrast": f"{name} - {reference}",
                         "estimate": est[name]["dr"] - est[reference]["dr"] if ok else np.nan,
                         "n_outcome": est[name]["n_outcome"],
                         "n_reference": est[reference]["n_outcome"]})
    return pd.DataFrame(rows)


def _scaled(s: Strategy, factor: float) -> Strategy:
    if s.protocol is None or factor == 1.0:
        return s
    from dataclasses import replace
    p = s.protocol

    def tol(t, interval):
        return int(min(max(round(t * factor), 0), interval - 1))
    return Strategy(s.name, replace(p, loading_tolerance=tol(p.loading_tolerance,
                                                             p.loading_interval),
                                    maintenance_tolerance=tol(p.maintenance_tolerance,
                                                              p.maintenance_interval)), s.label)
