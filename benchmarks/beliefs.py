"""How often is a belief's verdict wrong? Verdicts of `outcomes.estimate.beliefs.belief_check` on simulated
clinics with each planted effect switched on, and with all of them switched off.

Conditions (600 patients per clinic, like the demo):

- ``planted (demo clinic)`` — ``SimParams()`` as shipped: every belief's mechanism is planted
  (age, smoking, sleep and sun worsen baseline pores; oily zones rate worse; a HydraFacial removes
  part of the clogging, fading in ~30 days; bunched and lapsed sessions lose efficacy).
- ``planted (HydraFacial for enlarged too)`` — the same, but enlarged pores get a HydraFacial at
  20 % of sessions (instead of 2 %), so the clogged − enlarged contrast can be addressed at all.
- ``switched off`` — the second clinic with every belief's mechanism at zero: the four baseline
  effects, the region offsets, the HydraFacial gain and both consistency effects. The traps of
  every clinic stay on (confounding by indication, informative drop-out, rater noise, rounding),
  and so do the covariate effects on *response* (smokers gain less): they are not beliefs checked
  here. Even then sessions that fade in a gap make spacing matter a little: the printed truth of
  the regularity effect (evenly spaced sessions, ``Simulation.truth``) is ~0.02–0.03 grade in
  every condition, below the trivial size (0.1 grade).

A verdict is *wrong* when it is ``not supported`` while the effect is planted, or ``supported``
while it is switched off; ``not enough data`` is no answer (a loss of power), counted apart.
(The schedule belief is the schedule comparison's protocol against every two months, 200
bootstrap replicates.) Who benefits: share of clinics with any Holm-adjusted interaction p < 0.05.

Usage: ``python benchmarks/beliefs.py [CLINICS_PER_CONDITION] [PATIENTS] [WORKERS]``
(default 80, 600, 2). Seeds are fixed (condition k, clinic i → seed 1000 k + i).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from outcomes import Analysis
from outcomes.synthetic import SimParams, simulate

_OFF_BASELINE = ("age_per_decade", "smoker_current", "smoker_former", "sun_moderate", "sun_high",
                 "sleep_per_hour")


def planted(enlarged_hydrafacial: bool = False) -> SimParams:
    p = SimParams()
    if enlarged_hydrafacial:
        p = dataclasses.replace(p, hydrafacial_shares={**p.hydrafacial_shares, "enlarged": 0.2})
    return p


def switched_off() -> SimParams:
    p = planted(enlarged_hydrafacial=True)
    baseline = {m: {k: (0.0 if k in _OFF_BASELINE else v) for k, v in eff.items()}
                for m, eff in p.baseline_effects.items()}
    regions = {m: {z: 0.0 for z in offs} for m, offs in p.region_offsets.items()}
    return dataclasses.replace(p, baseline_effects=baseline, region_offsets=regions,
                               hydrafacial_gain=0.0, consistency_bunch=0.0,
                               consistency_lapse=0.0)


CONDITIONS = {
    "planted (demo clinic)": (planted, True),
    "planted (HydraFacial for enlarged too)": (lambda: planted(True), True),
    "switched off": (switched_off, False),
}


def one_clinic(job):
    condition, k, i, n = job
    make, _ = CONDITIONS[condition]
    sim = simulate(n, seed=1000 * k + i, params=make())
    records = sim.to_records()
    analysis = Analysis(records, measure="pore")
    res = analysis.beliefs(boot=200).table
    who = analysis.who_benefits()
    holm = who.groupby("modifier")["interaction_p_holm"].first()
    truth = sim.truth.set_index(["measure", "estimand"])["value"]
    return [{"condition": condition, "clinic": i, "belief": b, "verdict": v, "estimate": e}
            for b, v, e in zip(res["belief"], res["verdict"], res["estimate"])] + [
        {"condition": condition, "clinic": i, "belief": "who_benefits: any Holm p<0.05",
         "verdict": "flagged" if (holm < 0.05).any() else "none", "estimate": float(holm.min())},
        {"condition": condition, "clinic": i, "belief": "truth: regularity effect (grades)",
         "verdict": "", "estimate": float(truth[("pore", "regularity_effect_analysed")])}]


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (condition, belief), g in rows.groupby(["condition", "belief"], sort=False):
        if belief.startswith(("truth", "who")):
            continue
        on = CONDITIONS[condition][1]
        wrong = "not supported" if on else "supported"
        counts = g["verdict"].value_counts()
        n = len(g)
        out.append({"condition": condition, "belief": belief, "clinics": n,
                    "supported": int(counts.get("supported", 0)),
                    "not supported": int(counts.get("not supported", 0)),
                    "not enough data": int(counts.get("not enough data", 0)),
                    "false verdict %": 100 * counts.get(wrong, 0) / n,
                    "right verdict %": 100 * counts.get("supported" if on else "not supported",
                                                        0) / n,
                    "mean estimate": g["estimate"].mean()})
    return pd.DataFrame(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    clinics = int(argv[0]) if argv else 80
    n = int(argv[1]) if len(argv) > 1 else 600
    workers = int(argv[2]) if len(argv) > 2 else 2
    jobs = [(c, k, i, n) for k, c in enumerate(CONDITIONS) for i in range(clinics)]
    start = time.time()
    with ProcessPoolExecutor(workers) as pool:
        rows = pd.DataFrame([r for part in pool.map(one_clinic, jobs) for r in part])
    summary = summarise(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"belief verdicts over {clinics} simulated clinics per condition, {n} patients each "
          f"({time.time() - start:.0f} s)\n")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print()
    extra = rows[rows["belief"].str.startswith(("who", "truth"))]
    print(extra.groupby(["condition", "belief"], sort=False).agg(
        flagged_share=("verdict", lambda v: (v == "flagged").mean()),
        mean=("estimate", "mean")).to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
