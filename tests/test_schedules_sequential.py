"""The weighted ICE of outcomes.estimate.sequential is sequentially doubly robust.

A two-step trial with a planted truth: patients stay in step 1 with a probability that depends
on L0, in step 2 on L1 (seen at the start of step 2), and the outcome of those who stay both
steps is ``Y = 1 + L0 + L1 + 0.8 · L0² + noise``, so ``E[Y under "stay"] = 1.8`` exactly
(``L0 ~ N(0, 1)``, ``L1 = 0.5 L0 + N(0, 1)``). Who stays depends on ``L0²`` too, so the
followers' plain mean and a regression that leaves out ``L0²`` are both off. The doubly robust
mean must come close to 1.8 when only the outcome regressions are right (weights from a wrong,
constant model) and when only the weights are right (regressions without ``L0²``).
"""

import numpy as np
import pytest

from outcomes.estimate.sequential import ice_mean, ice_plan

TRUTH = 1.8


def _expit(x):
    return 1 / (1 + np.exp(-x))


def _trial(seed, n=1500):
    rng = np.random.default_rng(seed)
    L0 = rng.standard_normal(n)
    L1 = 0.5 * L0 + rng.standard_normal(n)
    p1 = _expit(1.5 + 0.6 * L0 - 0.3 * L0 ** 2)
    p2 = _expit(1.0 + 0.8 * L1)
    s1 = rng.random(n) < p1
    s2 = s1 & (rng.random(n) < p2)
    y = 1 + L0 + L1 + 0.8 * L0 ** 2 + 0.5 * rng.standard_normal(n)
    patient = np.r_[np.arange(n), np.nonzero(s1)[0]]
    step = np.r_[np.ones(n, int), np.full(s1.sum(), 2)]
    stay = np.r_[s1, s2[s1]]
    p_true = np.r_[p1, p2[s1]]
    two = (step == 2).astype(float)
    l0 = L0[patient]
    right = np.column_stack([np.ones(len(patient)), l0, l0 ** 2, L1[patient] * two, two])
    wrong = np.column_stack([np.ones(len(patient)), l0, L1[patient] * two, two])
    end_right = np.column_stack([np.ones(n), L0, L0 ** 2, L1])
    end_wrong = np.column_stack([np.ones(n), L0, L1])
    plan = ice_plan(patient, step, stay, n)
    return {"plan": plan, "y": y, "followed": s2, "right": right, "wrong": wrong,
            "end_right": end_right, "end_wrong": end_wrong, "p_true": p_true, "n": n}


def _means(seeds=range(30)):
    out = {k: [] for k in ("dr_outcome_right", "dr_weights_right", "ice_wrong", "ice_right",
                           "naive")}
    for seed in seeds:
        t = _trial(seed)
        n, plan = t["n"], t["plan"]
        ones, seen = np.ones(n), np.ones(n, dtype=bool)
        bad_p = np.full(len(t["p_true"]), 0.6)       # a wrong (constant) model of staying
        out["dr_outcome_right"].append(ice_mean(plan, t["right"], t["end_right"], t["y"], seen,
                                                t["followed"], ones, p_stay=bad_p, p_obs=ones))
        out["dr_weights_right"].append(ice_mean(plan, t["wrong"], t["end_wrong"], t["y"], seen,
                                                t["followed"], ones, p_stay=t["p_true"],
                                                p_obs=ones))
        out["ice_wrong"].append(ice_mean(plan, t["wrong"], t["end_wrong"], t["y"], seen,
                                         t["followed"], ones))
        out["ice_right"].append(ice_mean(plan, t["right"], t["end_right"], t["y"], seen,
                                         t["followed"], ones))
        out["naive"].append(t["y"][t["followed"]].mean())
    return {k: (np.mean(v), np.std(v, ddof=1) / np.sqrt(len(v))) for k, v in out.items()}


@pytest.fixture(scope="module")
def means():
    return _means()


def test_the_trap_is_real(means):
    # the followers' mean and the ICE with the wrong regressions are clearly off the truth
    assert abs(means["naive"][0] - TRUTH) > 0.15
    assert abs(means["ice_wrong"][0] - TRUTH) > 0.1


def test_ice_with_the_right_regressions(means):
    m, se = means["ice_right"]
    assert abs(m - TRUTH) < max(3 * se, 0.03)


@pytest.mark.parametrize("which", ["dr_outcome_right", "dr_weights_right"])
def test_doubly_robust_when_either_model_is_right(means, which):
    m, se = means[which]
    assert abs(m - TRUTH) < max(3 * se, 0.03), (which, m, se)


def test_case_weights_are_replicated_patients():
    """Case weight 2 on a patient is the same as the patient twice in the data."""
    t = _trial(7, n=300)
    n, plan = t["n"], t["plan"]
    cw = np.random.default_rng(1).integers(0, 3, n).astype(float)
    got = ice_mean(plan, t["right"], t["end_right"], t["y"], np.ones(n, bool), t["followed"],
                   cw, p_stay=t["p_true"], p_obs=np.ones(n))
    # duplicate by hand
    reps = np.repeat(np.arange(n), cw.astype(int))
    rows = np.concatenate([np.nonzero(plan.patient == i)[0] for i in reps])
    new_patient = np.repeat(np.arange(len(reps)), [np.sum(plan.patient == i) for i in reps])
    step = np.concatenate([np.arange(1, np.sum(plan.patient == i) + 1) for i in reps])
    plan2 = ice_plan(new_patient, step, plan.stay[rows], len(reps))
    want = ice_mean(plan2, t["right"][rows], t["end_right"][reps], t["y"][reps],
                    np.ones(len(reps), bool), t["followed"][reps], np.ones(len(reps)),
                    p_stay=t["p_true"][rows], p_obs=np.ones(len(reps)))
    assert got == pytest.approx(want, abs=1e-8)
