"""Coverage of the schedule comparison's bootstrap intervals on simulated clinics (methods §6.6).

    .venv/bin/python docs/interval_coverage.py --patients 1500 --clinics 12 --boot 100 \
        --no-hydrafacial

Each clinic is ``outcomes.synthetic`` (scenario ``simple`` unless ``--scenario``); the truth is
``strategy_truth(sessions_before=L)`` (no session on or after the landmark counts). Every
estimable row (strategies and contrasts) is checked against it with the three interval methods
computed from the same replicates. Prints, per method, rows checked, coverage and mean width,
and the mean bias and its spread. A quick measurement, not the benchmark (benchmarks/).
"""

import argparse
import dataclasses
import time

import numpy as np

from outcomes.estimate.schedules import _ci, compare_strategies
from outcomes.synthetic import STRATEGY_SCENARIOS, simulate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=600)
    ap.add_argument("--clinics", type=int, default=20)
    ap.add_argument("--boot", type=int, default=100)
    ap.add_argument("--scenario", default="simple")
    ap.add_argument("--measure", default="pore")
    ap.add_argument("--no-hydrafacial", action="store_true",
                    help="no HydraFacial sessions: the simulator's truth forces every session "
                         "slot, whatever its treatment, while the comparison studies one "
                         "treatment (others are free), so the two agree only without them")
    a = ap.parse_args()
    params = STRATEGY_SCENARIOS[a.scenario]
    if a.no_hydrafacial:
        params = dataclasses.replace(params, hydrafacial_shares=dict.fromkeys(
            params.hydrafacial_shares, 0.0))
    hits = {m: [] for m in ("percentile", "normal", "bca")}
    widths = {m: [] for m in hits}
    errors = []
    t = time.time()
    for c in range(a.clinics):
        sim = simulate(a.patients, seed=1000 + c, params=params)
        truth = sim.strategy_truth(sessions_before=182)
        truth = truth[truth["measure"] == a.measure].set_index("strategy")["mean_improvement"]
        comp = compare_strategies(sim.to_records(), measure=a.measure, boot=a.boot,
                                  sensitivity=False, interval="bca", seed=c)
        reps, jack = comp.replicates, comp.jackknife
        for _, r in comp.results.iterrows():
            if not np.isfinite(r["estimate"]) or r["term"] not in truth.index:
                continue
            if " - " in r["term"]:
                x, y = r["term"].split(" - ")
                v, j = reps[x] - reps[y], jack[x] - jack[y]
            else:
                v, j = reps[r["term"]], jack[r["term"]]
            errors.append(r["estimate"] - truth[r["term"]])
            for m, hit in hits.items():
                lo, hi, _ = _ci(v, r["estimate"], m, j)
                hit.append(lo <= truth[r["term"]] <= hi)
                widths[m].append(hi - lo)
    print(f"{a.clinics} clinics x {a.patients} patients, scenario {a.scenario}"
          f"{' without HydraFacial' if a.no_hydrafacial else ''}, boot {a.boot}, "
          f"{time.time() - t:.0f} s")
    e = np.asarray(errors)
    print(f"estimable rows {len(e)}; mean error {e.mean():+.3f} (SD {e.std(ddof=1):.3f})")
    for m, hit in hits.items():
        h = np.asarray(hit)
        print(f"{m:11s} coverage {h.mean():.1%} ({h.sum()}/{len(h)}), "
              f"mean width {np.mean(widths[m]):.3f}")


if __name__ == "__main__":
    main()
