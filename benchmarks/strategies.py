"""Bias and CI coverage of the schedule comparison on simulated clinics with a planted truth.

For each scenario of ``SimParams.strategy_scenarios()`` (no traps, each trap alone, all traps),
``--clinics`` simulated clinics of ``--patients`` patients are analysed with
:func:`outcomes.estimate.schedules.compare_strategies` (``--boot`` bootstrap replicates) and compared with
the interventional truth of the same clinic (``Simulation.strategy_truth``: every schedule forced
on the same patients with common random numbers). Printed per scenario and contrast
(``protocol - every_2_months``, ``protocol - single``): mean bias, coverage of the 95% CI, how many
clinics could estimate it; then the speed check: ``outcomes strategies`` with 200 replicates on
10,000 patients. Targets: |mean bias| ≤ 0.02 grade, coverage 93–97 %, ≤ 60 s.

Run: ``python benchmarks/strategies.py [--clinics 100] [--patients 1500] [--boot 200]
[--workers 2] [--measure pore] [--scenario NAME ...]`` (about an hour with the defaults on two
cores; run it in the background).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from outcomes.estimate.schedules import compare_strategies
from outcomes.synthetic import SimParams, simulate

CONTRASTS = (("protocol", "every_2_months"), ("protocol", "single"))


def _truth(table, measure, a, b):
    t = table[table["measure"] == measure].set_index("strategy")["mean_improvement"]
    return float(t[a] - t[b])


def one_clinic(job):
    scenario, seed, n, boot, measure = job
    params = SimParams.strategy_scenarios()[scenario]
    sim = simulate(n, seed=seed, params=params)
    truth = sim.strategy_truth()
    c = compare_strategies(sim.to_records(), measure=measure, boot=boot, seed=seed,
                           sensitivity=False)
    out = []
    for a, b in CONTRASTS:
        est = c.contrast(a, b)
        out.append((scenario, f"{a} - {b}", _truth(truth, measure, a, b), est["estimate"],
                    est["ci_low"], est["ci_high"]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinics", type=int, default=100)
    ap.add_argument("--patients", type=int, default=1500)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--measure", default="pore")
    ap.add_argument("--scenario", action="append", default=None)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args(argv)
    scenarios = args.scenario or list(SimParams.strategy_scenarios())
    jobs = [(s, 1000 + i, args.patients, args.boot, args.measure)
            for s in scenarios for i in range(args.clinics)]
    t = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        for res in pool.map(one_clinic, jobs, chunksize=2):
            rows += res
    print(f"{len(jobs)} clinics of {args.patients} patients, {args.boot} bootstrap replicates, "
          f"measure {args.measure}: {time.perf_counter() - t:.0f} s")
    worst_bias, worst_cov = 0.0, []
    for s in scenarios:
        for contrast in (f"{a} - {b}" for a, b in CONTRASTS):
            r = [x for x in rows if x[0] == s and x[1] == contrast]
            truth = np.array([x[2] for x in r])
            est = np.array([x[3] for x in r])
            lo, hi = np.array([x[4] for x in r]), np.array([x[5] for x in r])
            ok = np.isfinite(est) & np.isfinite(lo)
            bias = float(np.mean(est[ok] - truth[ok])) if ok.any() else np.nan
            cover = float(np.mean((lo[ok] <= truth[ok]) & (truth[ok] <= hi[ok]))) \
                if ok.any() else np.nan
            mc = 1.96 * np.std(est[ok] - truth[ok], ddof=1) / np.sqrt(ok.sum()) \
                if ok.sum() > 1 else np.nan
            worst_bias = max(worst_bias, abs(bias)) if np.isfinite(bias) else worst_bias
            worst_cov.append(cover)
            print(f"{s:>20} {contrast:>26}: truth {np.mean(truth):+.3f}, mean bias {bias:+.4f} "
                  f"(± {mc:.4f} Monte Carlo), coverage {100 * cover:.1f}% "
                  f"({ok.sum()}/{len(r)} clinics estimable), mean CI width "
                  f"{np.mean(hi[ok] - lo[ok]):.3f}")
    print(f"worst |mean bias|: {worst_bias:.4f} (target ≤ 0.02); coverage range "
          f"{100 * np.nanmin(worst_cov):.1f}–{100 * np.nanmax(worst_cov):.1f}% (target 93–97%)")
    if not args.skip_speed:
        speed()


def speed():
    """``outcomes strategies`` (both measures, 200 replicates) on 10,000 simulated patients."""
    import tempfile

    from outcomes.cli import main as cli
    with tempfile.TemporaryDirectory() as tmp:
        simulate(10_000, seed=7).write(tmp)
        t = time.perf_counter()
        with open(os.devnull, "w") as null:
            old, sys.stdout = sys.stdout, null
            try:
                cli(["strategies", tmp, "--boot", "200", "--json"])
            finally:
                sys.stdout = old
        dt = time.perf_counter() - t
    print(f"outcomes strategies, 10,000 patients, pore and texture, 200 replicates: {dt:.1f} s "
          "(target ≤ 60 s)")


if __name__ == "__main__":
    main()
