"""Schedules compared: the emulated target trial (clone–censor–weight), docs/methods.md §4.

The question: *had every eligible patient followed schedule g, what would their mean improvement at
the landmark have been — and how much better is the protocol than coming every two months?*

Protocol of the emulated trial
------------------------------
eligibility
    a first session of the analysed treatments (t0), a baseline rating in ``[t0 − 30, t0]`` and
    enough time in the records to reach the landmark (``t0 + L + window ≤`` the last date in the
    records; a patient who started too recently could never have been followed to L).
time zero
    t0. Every eligible patient is a candidate for every strategy (:mod:`outcomes.strategies`).
follow-up
    until the *horizon* H: the landmark rating's day when the patient has one, else ``t0 + L``.
outcome
    improvement (positive = better) at the landmark rating, as in :mod:`outcomes.ratings`.
estimand
    ``μ_g = E[Y^g]`` over the eligible patients, and ``μ_g − μ_ref``.

Estimator
---------
1. **Clones and deviation steps.** Each eligible patient is cloned into every strategy. Step k
   starts right after the k-th on-schedule session (day ``s_k``); the clone *stays* in step k when
   its next session comes inside the window ``s_k + [lo_k, hi_k]``, or when it reaches H with no
   session too early and no window closed. It *deviates* at a session before ``s_k + lo_k``
   ("too early") or on day ``s_k + hi_k + 1`` with no session ("window missed"), if that is before
   H. Deviation censors the clone.
2. **Weights for deviation.** Per strategy, a pooled logistic model of staying at each step,
   ``P(stay_k | step, baseline rating, latest interim rating's change since baseline, an
   indicator of any interim rating, days since t0, days since the previous session,
   covariates)``, fitted by Newton–Raphson on every step row of that strategy's clones. The
   interim rating is the latest rating dated on or before ``s_k`` (a rating on a session day is
   taken before the session, so it is known when the next visit is decided).
3. **Weights for loss to follow-up.** One logistic model over all eligible patients of having a
   landmark rating, given the history at ``t0 + L − window`` (before any landmark rating can
   exist): baseline, latest interim change, sessions received before ``t0 + L``, days from the
   last of them to ``t0 + L``, covariates.
4. The weight of a clone that stayed to H and has its outcome is
   ``w = Π_k 1 / P(stay_k) × 1 / P(observed)``; weights above the ``truncate`` quantile (default
   the 99th percentile of that strategy's weights) are set to it, and the share truncated is
   reported.
5. **Means.** IPW (Hájek): ``Σ w Y / Σ w`` over uncensored clones. Doubly robust (the headline):
   a weighted least-squares outcome model ``Y ~ baseline + covariates`` among uncensored clones,
   its predictions averaged over *every* eligible patient (standardisation). The unweighted mean
   of the followers is shown as the naive per-protocol answer.
6. **Uncertainty.** Patient-level bootstrap: each replicate draws patients with replacement
   (multinomial counts used as case weights, so clones of one patient move together), refits
   every model, and recomputes every mean and contrast; 95 % percentile intervals.
7. **Positivity.** A strategy followed to the horizon, with an outcome, by fewer than
   ``min_followers`` (default 20) patients gets no number: *not estimable from these records*.

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
                    "ipw_estimate", "naive_estimate", "n", "n_followed", "n_outcome",
                    "p_value", "note"]



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
        doubly robust mean improvement, ``ipw_estimate`` the weighted mean, ``naive_estimate``
        the plain mean of the followers) and one per contrast ``"NAME - REFERENCE"``. A strategy
        that is not estimable has ``estimate``, ``ci_low``, ``ci_high`` missing and says why in
        ``note``.
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

    def contrast(self, name: str, other: str) -> dict:
        """Difference ``name − other`` of two strategies' doubly robust means with its bootstrap
        95% CI (any pair, not only against the reference); NaN when either is not estimable."""
        res = self.results.set_index("term")
        for s in (name, other):
            if s not in res.index or " - " in s:
                raise RecordsError(f"The value for `name`/`other` must be one of "
                                   f"{list(self.settings['strategies'])}, but {s!r} was passed.")
        a, b = res.loc[name], res.loc[other]
        if not (np.isfinite(a["estimate"]) and np.isfinite(b["estimate"])):
            return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "std_error": np.nan}
        lo, hi, se = (_ci(self.replicates[name] - self.replicates[other])
                      if name in self.replicates else (np.nan,) * 3)
        return {"estimate": float(a["estimate"] - b["estimate"]), "ci_low": lo, "ci_high": hi,
                "std_error": se}


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
                       reference: str = "every_2_months", min_followers: int = 20,
                       boot: int = 200, seed: int = 1, truncate: float | None = 0.99,
                       region: str = "face", rater: str = "clinician", sensitivity: bool = True,
                       progress: bool = False, derived: dict | None = None
                       ) -> ScheduleComparison:
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
        Sessions counted (and t0); every treatment by default.
    strategies : dict or list of Strategy, optional
        Default: the four defaults plus any declared in the records' ``dataset.toml``.
    reference : str
        The strategy every other one is compared with (default ``every_2_months``).
    min_followers : int
        Fewest patients who must have followed a strategy to the landmark (with a rating there)
        for it to get a number.
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
        Tables already derived for exactly these settings (``ratings``, ``sessions``,
        ``primary``), as :class:`outcomes.analysis.Analysis` holds them; not recomputed.

    Returns
    -------
    ScheduleComparison
    """
    strategies = _resolve_strategies(records, strategies)
    _check_settings(strategies, reference, min_followers, boot, truncate, seed)
    with one_blas_thread():    # many small products: BLAS threads only spin (outcomes.mixed)
        return _compare(records, measure, landmark_days, window_days, baseline_days, treatments,
                        strategies, reference, min_followers, boot, seed, truncate, region,
                        rater, sensitivity, progress, derived)


def _compare(records, measure, landmark_days, window_days, baseline_days, treatments, strategies,
             reference, min_followers, boot, seed, truncate, region, rater, sensitivity,
             progress, derived) -> ScheduleComparison:
    trial = _build_trial(records, measure, landmark_days=landmark_days, window_days=window_days,
                         baseline_days=baseline_days, treatments=treatments, region=region,
                         rater=rater, derived=derived)
    settings = {"measure": measure, "landmark_days": landmark_days, "window_days": window_days,
                    "baseline_days": baseline_days, "treatments": treatments, "reference": reference,
                    "min_followers": min_followers, "boot": boot, "seed": seed, "truncate": truncate,
                    "region": region, "rater": rater,
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
    out_X = np.column_stack([np.ones(n), trial.baseline] +
                            ([trial.X] if trial.X.shape[1] else []))
    point = _estimate(trial, arms, ltfu_X, out_X, np.ones(n), truncate, want_weights=True)
    reps = _bootstrap(trial, arms, ltfu_X, out_X, boot, seed, truncate, progress, point)
    results = _results_table(measure, trial, arms, point, reps, reference, min_followers)
    notes += _notes(trial, arms, point)
    sens = _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, out_X, truncate,
                        min_followers, measure) if sensitivity else pd.DataFrame()
    return ScheduleComparison(results, _followers_table(trial, arms),
                              _weights_table(arms, point), _balance_table(trial, arms, point),
                              sens, _loss_table(trial), _protocol_table(settings, strategies),
                              notes, settings, trial.excluded,
                              replicates={k: v[:, 0] for k, v in reps.items()},
                              point={k: {"dr": v["dr"], "ipw": v["ipw"], "naive": v["naive"],
                                         "n_outcome": v["n_outcome"]}
                                     for k, v in point.items()})


def _bootstrap(trial, arms, ltfu_X, out_X, boot, seed, truncate, progress, point
               ) -> dict[str, np.ndarray]:
    n = len(trial.ids)
    init = {name: e["beta"] for name, e in point.items() if e["beta"] is not None}
    if point:
        init["_ltfu"] = next(iter(point.values()))["beta_ltfu"]
    rng = np.random.default_rng(seed)
    out = {name: np.full((boot, 3), np.nan) for name in arms}
    iterator = range(boot)
    if progress and boot:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="bootstrap", unit="replicate", leave=False)
    for b in iterator:
        cw = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
        est = _estimate(trial, arms, ltfu_X, out_X, cw, truncate, init=init)
        for name, e in est.items():
            out[name][b] = (e["dr"], e["ipw"], e["n_outcome"])
    return out


def _ci(values: np.ndarray) -> tuple[float, float, float]:
    v = values[np.isfinite(values)]
    if len(v) < 10:
        return np.nan, np.nan, np.nan
    lo, hi = np.quantile(v, [0.025, 0.975])
    return float(lo), float(hi), float(v.std(ddof=1))


def _results_table(measure, trial, arms, point, reps, reference, min_followers) -> pd.DataFrame:
    n = len(trial.ids)
    rows = []
    ok = {}
    for name, arm in arms.items():
        e = point[name]
        n_out = e["n_outcome"]
        n_fol = int(arm.followed.sum())
        ok[name] = n_out >= min_followers
        row = {"measure": measure, "model": "strategy", "term": name, "n": n, "n_followed": n_fol,
                   "n_outcome": n_out, "p_value": np.nan}
        if ok[name]:
            lo, hi, se = _ci(reps[name][:, 0])
            row.update(estimate=e["dr"], ci_low=lo, ci_high=hi, std_error=se,
                       ipw_estimate=e["ipw"], naive_estimate=e["naive"],
                       note=f"{arm.strategy.label}; followed to the review by "
                            f"{suppress_count(n_out)} of {n} eligible patients")
        else:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       ipw_estimate=np.nan, naive_estimate=np.nan,
                       note=f"not estimable: only {suppress_count(n_out)} patients followed it "
                            f"to the review (at least {min_followers} needed)")
        rows.append(row)
    for name in arms:
        if name == reference:
            continue
        term = f"{name} - {reference}"
        row = {"measure": measure, "model": "strategy", "term": term, "n": n,
                   "n_followed": int(arms[name].followed.sum()),
                   "n_outcome": point[name]["n_outcome"], "ipw_estimate": np.nan,
                   "naive_estimate": np.nan, "p_value": np.nan}
        if ok[name] and ok[reference]:
            diff = reps[name][:, 0] - reps[reference][:, 0]
            lo, hi, se = _ci(diff)
            v = diff[np.isfinite(diff)]
            p = (min(1.0, 2 * min((v <= 0).mean(), (v >= 0).mean()) + 1 / (len(v) + 1))
                 if len(v) >= 10 else np.nan)
            row.update(estimate=point[name]["dr"] - point[reference]["dr"], ci_low=lo,
                       ci_high=hi, std_error=se, p_value=p,
                       ipw_estimate=point[name]["ipw"] - point[reference]["ipw"],
                       naive_estimate=point[name]["naive"] - point[reference]["naive"],
                       note="difference in mean improvement")
        else:
            bad = [s for s in (name, reference) if not ok[s]]
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       note="not estimable: " + " and ".join(bad) + " followed by too few "
                            "patients")
        rows.append(row)
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def _not_estimable_results(measure, strategies, reference, n, why) -> pd.DataFrame:
    rows = [{"measure": measure, "model": "strategy", "term": t, "n": n, "n_followed": 0, "n_outcome": 0,
                 "note": f"not estimable: {why}"}
            for t in list(strategies) + [f"{s} - {reference}" for s in strategies
                                         if s != reference]]
    return pd.DataFrame(rows).reindex(columns=SCHEDULE_COLUMNS)



def _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, out_X, truncate,
                 min_followers, measure) -> pd.DataFrame:
    rows = []
    n = len(trial.ids)
    for factor in (0.5, 1.0, 1.5):
        scaled = {k: _scaled(s, factor) for k, s in strategies.items()}
        arms = {k: _arm(trial, s, baseline_days) for k, s in scaled.items()}
        est = _estimate(trial, arms, ltfu_X, out_X, np.ones(n), truncate)
        for name in arms:
            if name == reference:
                continue
            ok = est[name]["n_outcome"] >= min_followers and \
                est[reference]["n_outcome"] >= min_followers
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


