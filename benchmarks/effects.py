"""Benchmark: ``outcomes effects`` end to end at 600, 10,000 and 100,000 patients, and the mixed
model against statsmodels MixedLM on one 2,000-patient design.

End to end: the records of ``outcomes.synthetic.simulate(n)`` are written once to
``/tmp/outcomes-bench-effects/n<N>`` (kept between runs: simulating 100,000 patients takes a
while); then each size runs in a fresh child process that calls the command line in-process
(``outcomes.cli.main(["effects", DIR])``, output discarded) — loading the records is part of the
time. The child reports its wall time (``time.perf_counter`` around ``cli.main``) and its peak
resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole process, imports
included). The machine is shared, so CPU time (``time.process_time``) is printed too.

Mixed model: the design of ``outcomes.estimate.effects.mixed_effect`` (pore) on 2,000 simulated patients,
random intercept and slope on months, fitted by :func:`outcomes.estimate.mixed.fit_mixed` and by
statsmodels ``MixedLM(...).fit(reml=True)`` (its default optimiser sequence); best of
:data:`REPEATS` for each, interleaved. The largest relative difference of the fixed effects and
of the REML deviance at each fit's variance parameters (profiled by ours) are printed.

BLAS threads: the fits are many products of tall, narrow matrices (patients × ~30 columns). On a
shared 2-core machine OpenBLAS's own threads made them far slower (spinning threads waiting for
busy cores), so ``outcomes effects`` and ``fit_mixed`` limit BLAS to one thread while they run
(:func:`outcomes.estimate.mixed.one_blas_thread`, threadpoolctl); the statsmodels comparison runs under
the same limit. The line ``BLAS threads`` shows the environment variable, for the record.

Targets (issue 13): the demo ≤ 3 s, 100,000 patients ≤ 60 s and ≤ 4 GB peak; ratio ≤ 0.05 with
equal estimates. The last line is ``ratio vs statsmodels MixedLM: R`` (our fit time ÷ theirs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

#: patients per end-to-end run; ``BENCH_SIZES=600,10000`` for a quicker look
SIZES = tuple(int(s) for s in os.environ.get("BENCH_SIZES", "600,10000,100000").split(","))
CACHE = Path("/tmp/outcomes-bench-effects")
REPEATS = 3
MIXED_PATIENTS = 2_000


def _records_dir(n: int) -> Path:
    from outcomes.synthetic import simulate

    path = CACHE / f"n{n}"
    if not (path / "assessments.csv").exists():
        path.mkdir(parents=True, exist_ok=True)
        simulate(n).write(path)
    return path


def _child(path: str) -> None:
    """Run ``outcomes effects PATH`` once; print ``{"wall", "cpu", "peak_mb"}`` as JSON."""
    import contextlib
    import io
    import resource

    from outcomes import cli

    sink = io.StringIO()
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(sink):
        status = cli.main(["effects", path])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"status": status, "wall": wall, "cpu": cpu, "peak_mb": peak}))


def _end_to_end() -> None:
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
          flush=True)
    for n in SIZES:
        path = _records_dir(n)
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(f"effects end to end, {n:>7,} patients: {r['wall']:7.2f} s wall, "
              f"{r['cpu']:7.2f} s CPU, peak RSS {r['peak_mb']:7.0f} MB (exit {r['status']})",
              flush=True)


def _mixed_vs_statsmodels() -> float:
    import numpy as np
    import pandas as pd
    from statsmodels.regression.mixed_linear_model import MixedLM

    from outcomes import Analysis
    from outcomes.estimate import mixed
    from outcomes.estimate.effects import _design, _independent
    from outcomes.synthetic import simulate

    data = Analysis(simulate(MIXED_PATIENTS, seed=13).to_records(), measure="pore").long
    main = ["sessions_within", "sessions_between", "months"]
    design, _ = _independent(_design(data, main, data.attrs["covariates"]), protect=main)
    y = data["score"].to_numpy(dtype="float64")
    g = data["patient_id"].to_numpy()
    z = np.column_stack([np.ones(len(y)), data["months"].to_numpy(dtype="float64")])
    ours_t, theirs_t = [], []
    with mixed.one_blas_thread():        # the same BLAS setting for both (ours sets it anyway)
        for _ in range(REPEATS):
            t = time.perf_counter()
            ours = mixed.fit_mixed(y, design, g, z)
            ours_t.append(time.perf_counter() - t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                theirs = MixedLM(y, design, groups=g, exog_re=z).fit(reml=True)
                theirs_t.append(time.perf_counter() - t)
    fe = np.max(np.abs(ours.fe_params - theirs.fe_params.to_numpy())
                / np.maximum(np.abs(theirs.fe_params.to_numpy()), 1e-12))
    codes, uniq = pd.factorize(g)
    reml = mixed._Reml(y, design.to_numpy(), z, codes, len(uniq))
    try:
        theta = np.linalg.cholesky(np.asarray(theirs.cov_re) / theirs.scale)[np.tril_indices(2)]
        theirs_dev = reml.deviance(theta)
    except np.linalg.LinAlgError:
        theirs_dev = float("nan")
    print(f"mixed model, {MIXED_PATIENTS:,} patients ({len(y):,} ratings, {design.shape[1]} "
          f"fixed effects, random intercept + slope): ours {min(ours_t):.3f} s "
          f"(converged {ours.converged}), statsmodels MixedLM {min(theirs_t):.3f} s "
          f"(converged {theirs.converged})")
    print(f"  largest relative difference of the fixed effects {fe:.1e}; REML deviance ours "
          f"{-2 * ours.llf:.6f}, at statsmodels' estimates {theirs_dev:.6f}")
    return min(ours_t) / min(theirs_t)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        return
    _end_to_end()
    ratio = _mixed_vs_statsmodels()
    print(f"ratio vs statsmodels MixedLM: {ratio:.3f}")


if __name__ == "__main__":
    main()
