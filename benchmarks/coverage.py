"""Coverage and bias of the adjusted effect of frequency on planted truth.

Part 1 — the ``linear`` scenario (``SimParams.linear()``): landmark improvement is exactly
``beta × sessions_per_month + baseline and covariate terms + noise`` with confounding by indication
switched on, so ``adjusted_effect`` is correctly specified and its 95 % CI must cover ``beta`` in
93–97 % of simulated clinics with a mean bias below 0.02. The naive estimate is shown beside it:
its bias is what confounding by indication does.

Part 2 — the ``realistic`` scenario (the demo clinic's biology: saturation, fading, drop-out,
half-grade rounding): how far the adjusted estimate lands from the simulator's interventional truth
(``frequency_effect_analysed``, a finite difference over the same patients with their schedules
run faster or slower). No target: the model is not the biology, this measures how far off it is.

Run: ``.venv/bin/python benchmarks/coverage.py [--clinics 200] [--patients 600] [--realistic 20]``
(about 1–2 minutes on one core).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from tqdm import tqdm

from outcomes import Analysis
from outcomes.estimate.effects import adjusted_effect, naive_effect
from outcomes.synthetic import DEMO_SEED, SimParams, simulate

MEASURES = ("pore", "texture")


def _one(params: SimParams, n: int, seed: int) -> list[dict]:
    sim = simulate(n, seed=seed, params=params)
    records = sim.to_records()
    truth = sim.truth.set_index(["measure", "estimand"])["value"]
    rows = []
    for m in MEASURES:
        table = Analysis(records, measure=m).table
        adj = adjusted_effect(table).set_index("term").loc["sessions_per_month"]
        nai = naive_effect(table).iloc[0]
        beta = truth[(m, "frequency_effect_analysed")]
        rows.append({"measure": m, "seed": seed, "truth": beta, "n": int(adj["n"]),
                     "adjusted": adj["estimate"], "se": adj["std_error"],
                     "covered": adj["ci_low"] <= beta <= adj["ci_high"],
                     "naive": nai["estimate"],
                     "naive_covered": nai["ci_low"] <= beta <= nai["ci_high"]})
    return rows


def _run(params: SimParams, clinics: int, n: int, first_seed: int, label: str) -> pd.DataFrame:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # any warning from the models is a failure
        for seed in tqdm(range(first_seed, first_seed + clinics), desc=label, file=sys.stderr):
            rows += _one(params, n, seed)
    return pd.DataFrame(rows)


def _summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby("measure")
    out = pd.DataFrame({
        "clinics": g.size(),
        "patients_analysed": g["n"].mean().round(0),
        "truth": g["truth"].mean(),
        "coverage": g["covered"].mean(),
        "mean_adjusted": g["adjusted"].mean(),
        "mean_bias": g.apply(lambda d: (d["adjusted"] - d["truth"]).mean(), include_groups=False),
        "mc_se_bias": g.apply(lambda d: (d["adjusted"] - d["truth"]).std() / np.sqrt(len(d)),
                              include_groups=False),
        "sd_estimate": g["adjusted"].std(),
        "mean_se": g["se"].mean(),
        "naive_bias": g.apply(lambda d: (d["naive"] - d["truth"]).mean(), include_groups=False),
        "naive_coverage": g["naive_covered"].mean(),
    })
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=200)
    parser.add_argument("--patients", type=int, default=600)
    parser.add_argument("--realistic", type=int, default=20,
                        help="realistic-scenario clinics (0 to skip)")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", lambda v: f"{v:.4f}")

    start = time.perf_counter()
    linear = _summary(_run(SimParams.linear(), args.clinics, args.patients, 1, "linear"))
    print(f"== linear scenario: {args.clinics} clinics × {args.patients} patients, "
          "confounding by indication on")
    print(linear.to_string())
    ok = True
    for m, row in linear.iterrows():
        cov_ok = 0.93 <= row["coverage"] <= 0.97
        bias_ok = abs(row["mean_bias"]) < 0.02
        ok &= cov_ok and bias_ok
        print(f"{m}: coverage {row['coverage']:.1%} (target 93–97%: "
              f"{'ok' if cov_ok else 'MISSED'}), mean bias {row['mean_bias']:+.4f} "
              f"(target |bias| < 0.02: {'ok' if bias_ok else 'MISSED'}); naive bias "
              f"{row['naive_bias']:+.4f}")
    if args.realistic:
        real = _summary(_run(SimParams(), args.realistic, args.patients, DEMO_SEED,
                             "realistic"))
        print(f"\n== realistic scenario: {args.realistic} clinics × {args.patients} patients "
              "(truth = interventional frequency effect among analysed patients)")
        print(real.to_string())
    print(f"\ntime: {time.perf_counter() - start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
