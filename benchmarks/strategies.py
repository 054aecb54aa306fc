"""Bias, coverage and interval width of the schedule comparison on clinics it was not built for.

Issue 22 item 6, "validation the weights cannot game". The clinics come from
``benchmarks/independent_clinics.py``, a generator written apart from ``outcomes.synthetic`` (the
previous version of this benchmark simulated with the package's own simulator, whose patients
decide exactly at sessions on exactly the features of the weight model, so it partly passed by
construction). Its scenarios — decisions between sessions, stop thresholds other than one grade,
a response the patient sees but the clinic does not record, sessions in the landmark window, a
clinic whose patients can never follow, treatment before the export began, informative loss to
follow-up, and a plain baseline — are each labelled by whether attendance depends only on what the
records hold.

For each scenario and size (``--patients``, default 600 and 1500), ``--clinics`` clinics are
written as records folders, loaded with ``outcomes.load_records`` and analysed with
``outcomes.Analysis(records, measure=..., reference=...).schedules(boot=..., seed=...)``. Every
printed row of the comparison (each strategy's mean, monthly included, each contrast against the
reference) and each strategy against ``protocol`` is compared with the interventional truth of
the design (``independent_clinics.truth``: the same patients forced onto each schedule's nominal
days with no session after day 182, rated at day 182). Printed per scenario × size × row: truth,
mean bias ± its Monte Carlo SE, coverage of the 95 % CI, mean CI width, width ratio (mean width ÷
2 × 1.96 × SD of the estimates across clinics), clinics estimable, share flagged ``fragile`` when
the estimator has that column; then targets (|bias| ≤ 0.02, coverage 93–97 %, width ratio ≤ 1.2)
ticked only where attendance depends only on what the records hold — elsewhere only the bias is
measured. Per-clinic rows and the summary go to ``benchmarks/results/``.

Then, unless ``--skip-speed``, the speed check: ``outcomes strategies`` on one independent clinic
of ``--speed`` patients (default 10,000), both measures, 200 replicates, with its time and peak
memory (issue 22 item 7 asks 100,000 in ≤ 120 s: ``--speed 10000 20000 100000``).

Run: ``.venv/bin/python benchmarks/strategies.py [--clinics 24] [--patients 600 1500]
[--boot 200] [--workers 2] [--measure pore] [--reference every_2_months] [--scenario NAME ...]
[--washout 90] [--skip-speed | --speed N ...]``. With the defaults (8 scenarios × 2 sizes × 24
clinics, 200 replicates) about 40 minutes on two free cores; run it in the background.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import independent_clinics as ic

from outcomes import Analysis, Settings, load_records

TARGET_BIAS, TARGET_COVER, TARGET_RATIO = 0.02, (0.93, 0.97), 1.2
ERROR = "(analysis failed)"
OPTIONAL = ("effective_n", "fragile", "ice_estimate", "ipw_estimate", "naive_estimate",
            "n_outcome")


def settings_keywords(washout: int | None) -> dict:
    """``washout_days`` when the run sets one; else the Settings default applies."""
    return {} if washout is None else {"washout_days": washout}


def analyse_clinic(job: dict) -> list[dict]:
    """Simulate, write, load and analyse one clinic; one row per term with the estimate."""
    try:
        return _analyse_clinic(job)
    # one clinic the estimator cannot take is a finding to print, not a reason to lose the run
    except Exception as exc:  # noqa: BLE001
        return [{k: job[k] for k in ("scenario", "patients", "seed")}
                | {"term": ERROR, "error": f"{type(exc).__name__}: {exc}"}]


def _analyse_clinic(job: dict) -> list[dict]:
    design = ic.SCENARIOS[job["scenario"]]
    clinic = ic.simulate(design, job["patients"], seed=job["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        records = load_records(clinic.write(tmp))
        quarantined = int(records.n_quarantined)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = Analysis(records, measure=job["measure"], reference=job["reference"],
                         **settings_keywords(job["washout"]))
            sched = a.schedules(boot=job["boot"], seed=job["seed"], sensitivity=False)
        seconds = time.perf_counter() - t
    comp = sched.comparison
    res = comp.results
    base = {k: job[k] for k in ("scenario", "patients", "seed")}
    base.update(quarantined=quarantined, seconds=seconds)
    rows = []
    for _, r in res.iterrows():
        row = dict(base, term=str(r["term"]), estimate=r["estimate"], ci_low=r["ci_low"],
                   ci_high=r["ci_high"])
        row.update({c: r[c] for c in OPTIONAL if c in res.columns})
        rows.append(row)
    strategies = [t for t in res["term"] if " - " not in str(t)]
    if "protocol" in strategies and job["reference"] != "protocol":
        for s in strategies:                   # the reference's is the negated contrast above
            if s not in ("protocol", job["reference"]):
                c = comp.contrast(s, "protocol")
                rows.append(dict(base, term=f"{s} - protocol", estimate=c["estimate"],
                                 ci_low=c["ci_low"], ci_high=c["ci_high"]))
    return rows


def summarise(runs: pd.DataFrame, truths: dict[str, pd.DataFrame], measure: str) -> pd.DataFrame:
    out = []
    runs = runs[runs["term"] != ERROR]
    for (scenario, n, term), g in runs.groupby(["scenario", "patients", "term"], sort=False):
        design = ic.SCENARIOS[scenario]
        t = truths[scenario]
        t = t[(t["measure"] == measure) & (t["term"] == term)]
        truth = float(t["truth"].iloc[0]) if len(t) else np.nan
        est = g["estimate"].to_numpy(float)
        lo, hi = g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float)
        ok = np.isfinite(est)
        okci = ok & np.isfinite(lo) & np.isfinite(hi)
        k = int(ok.sum())
        err = est[ok] - truth
        bias = float(err.mean()) if k else np.nan
        mcse = float(err.std(ddof=1) / math.sqrt(k)) if k > 1 else np.nan
        sd = float(est[ok].std(ddof=1)) if k > 1 else np.nan
        width = float(np.mean(hi[okci] - lo[okci])) if okci.any() else np.nan
        cover = float(np.mean((lo[okci] <= truth) & (truth <= hi[okci]))) if okci.any() else np.nan
        ratio = width / (2 * 1.959964 * sd) if sd and np.isfinite(sd) and sd > 0 else np.nan
        row = {"scenario": scenario, "records_only": design.records_only,
               "positivity": design.positivity, "patients": n, "term": term, "truth": truth,
               "truth_review": float(t["truth_review"].iloc[0]) if len(t) else np.nan,
               "truth_window": float(t["truth_window"].iloc[0]) if len(t) else np.nan,
               "truth_followable": float(t["truth_followable"].iloc[0]) if len(t) else np.nan,
               "mean_estimate": float(est[ok].mean()) if k else np.nan, "bias": bias,
               "mc_se": mcse, "coverage": cover, "mean_width": width, "sd_estimate": sd,
               "width_ratio": ratio, "estimable": k, "clinics": len(g)}
        for col in ("ipw_estimate", "naive_estimate", "ice_estimate"):
            values = pd.to_numeric(g[col], errors="coerce") if col in g else pd.Series()
            if values.notna().any():
                row[col.replace("estimate", "bias")] = float((values - truth).mean())
        if not design.positivity:
            row["bias_followable"] = float(np.mean(est[ok] - row["truth_followable"])) \
                if k else np.nan
        if "fragile" in g:
            row["fragile_share"] = float(pd.to_numeric(g["fragile"], errors="coerce")
                                         .fillna(0).astype(bool).mean())
        if "effective_n" in g:
            row["mean_effective_n"] = float(pd.to_numeric(g["effective_n"], errors="coerce")
                                            .mean())
        if design.records_only:
            row["bias_ok"] = bool(np.isfinite(bias) and abs(bias) <= TARGET_BIAS)
            row["coverage_ok"] = bool(np.isfinite(cover)
                                      and TARGET_COVER[0] <= cover <= TARGET_COVER[1])
            row["ratio_ok"] = bool(np.isfinite(ratio) and ratio <= TARGET_RATIO)
        out.append(row)
    return pd.DataFrame(out)


def _f(x, fmt):
    return "—" if x is None or not np.isfinite(x) else format(x, fmt)


def _near(value, bound, se) -> bool:
    """The target's bound lies within 2 Monte Carlo SEs of the value: the mark could flip."""
    return bool(np.isfinite(value) and np.isfinite(se) and abs(value - bound) <= 2 * se)


def render(summary: pd.DataFrame) -> str:
    """The printed table: one block per scenario and size."""
    lines = []
    for (scenario, n), g in summary.groupby(["scenario", "patients"], sort=False):
        d = ic.SCENARIOS[scenario]
        label = ("records only" if d.records_only else "NOT records only (bias measured only)")
        if not d.positivity:
            label += "; positivity violated by design"
        clinics = int(g["clinics"].max())
        lines.append(f"\n{scenario} — {d.note} — {label}; {n} patients, {clinics} clinics "
                     f"(coverage of 95 % is measured ± {100 * math.sqrt(.95 * .05 / clinics):.1f}"
                     " points)" + (": too few to judge the targets, marks indicative"
                                   if clinics < 20 else ""))
        moved = [f"{r['term']} {r['truth_window'] - r['truth']:+.3f}" for _, r in g.iterrows()
                 if abs(r["truth_window"] - r["truth"]) > 0.01]
        if moved:
            lines.append("  (truth with gaps anywhere in the grace windows instead of nominal, "
                         "minus nominal: " + ", ".join(moved) + ")")
        if not d.positivity:
            lines.append("  (the truth is for every eligible patient; bias against the truth "
                         "among patients who could follow: "
                         + ", ".join(f"{r['term']} {_f(r['bias_followable'], '+.3f')}"
                                     for _, r in g.iterrows() if " - " not in r["term"]) + ")")
        lines.append(f"  {'row':<30}{'truth':>7}{'bias ± MC SE':>17}{'cover':>7}{'width':>7}"
                     f"{'ratio':>7}{'est.':>7}{'fragile':>8}  targets")
        for _, r in g.iterrows():
            mark = ""
            if d.records_only:
                k = max(int(r["estimable"]), 1)
                unsure = {"bias_ok": _near(abs(r["bias"]), TARGET_BIAS, r["mc_se"]),
                          "coverage_ok": any(_near(r["coverage"], c, math.sqrt(.95 * .05 / k))
                                             for c in TARGET_COVER),
                          "ratio_ok": False}
                mark = " ".join(f"{name}:{'ok' if r[col] else 'FAIL'}{'?' if unsure[col] else ''}"
                                for name, col in (("bias", "bias_ok"), ("cover", "coverage_ok"),
                                                  ("width", "ratio_ok")))
            fragile = _f(100 * r["fragile_share"], ".0f") + "%" if "fragile_share" in r \
                and np.isfinite(r.get("fragile_share", np.nan)) else "—"
            bias = f"{_f(r['bias'], '+.3f')} ± {_f(r['mc_se'], '.3f')}"
            lines.append(f"  {r['term']:<30}{_f(r['truth'], '+.3f'):>7}{bias:>17}"
                         f"{_f(100 * r['coverage'], '.0f') + '%':>7}{_f(r['mean_width'], '.3f'):>7}"
                         f"{_f(r['width_ratio'], '.2f'):>7}"
                         f"{str(r['estimable']) + '/' + str(r['clinics']):>7}{fragile:>8}  {mark}")
    return "\n".join(lines)


def markdown(summary: pd.DataFrame) -> str:
    cols = ["scenario", "records_only", "patients", "term", "truth", "bias", "mc_se", "coverage",
            "mean_width", "width_ratio", "estimable", "clinics"]
    cols += [c for c in ("fragile_share", "bias_ok", "coverage_ok", "ratio_ok")
             if c in summary]
    s = summary[cols].copy()
    for c in ("truth", "bias", "mc_se", "mean_width", "width_ratio", "coverage"):
        s[c] = s[c].map(lambda v: "" if not np.isfinite(v) else f"{v:.3f}")
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in row) + " |\n"
                          for row in s.itertuples(index=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinics", type=int, default=24)
    ap.add_argument("--patients", type=int, nargs="+", default=[600, 1500])
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--measure", default="pore", choices=ic.MEASURES)
    ap.add_argument("--reference", default="every_2_months")
    ap.add_argument("--scenario", nargs="+", default=None, choices=list(ic.SCENARIOS))
    ap.add_argument("--washout", type=int, default=None,
                    help="washout_days (default: the Settings default, 90)")
    ap.add_argument("--truth-patients", type=int, default=200_000)
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--tag", default="strategies")
    ap.add_argument("--speed", type=int, nargs="+", default=[10_000],
                    help="patients of the speed check (outcomes strategies, both measures)")
    ap.add_argument("--boot-speed", type=int, default=200)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--summarise", metavar="CLINICS_CSV", default=None,
                    help="print the table again from a run's *_clinics.csv (no new run)")
    args = ap.parse_args(argv)
    if args.summarise:
        runs = pd.read_csv(args.summarise)
        names = [s for s in ic.SCENARIOS if s in set(runs["scenario"])]
        truths = {s: ic.truth(ic.SCENARIOS[s], n=args.truth_patients) for s in names}
        print(render(summarise(runs, truths, args.measure)))
        return
    scenarios = args.scenario or list(ic.SCENARIOS)
    truths = {s: ic.truth(ic.SCENARIOS[s], n=args.truth_patients) for s in scenarios}
    order = list(ic.SCENARIOS)               # a scenario's seeds do not depend on which run
    jobs = [{"scenario": s, "patients": n, "seed": 10_000 * (order.index(s) + 1) + i,
             "boot": args.boot, "measure": args.measure, "reference": args.reference,
             "washout": args.washout}
            for s in scenarios for n in args.patients for i in range(args.clinics)]
    t = time.perf_counter()
    rows = []

    def progress(i):
        if i % 10 == 0 or i == len(jobs):
            print(f"  {i}/{len(jobs)} clinics, {time.perf_counter() - t:.0f} s", file=sys.stderr,
                  flush=True)

    if args.workers <= 1:
        for i, job in enumerate(jobs, 1):
            rows += analyse_clinic(job)
            progress(i)
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            for i, res in enumerate(pool.map(analyse_clinic, jobs), 1):
                rows += res
                progress(i)
    elapsed = time.perf_counter() - t
    runs = pd.DataFrame(rows)
    summary = summarise(runs, truths, args.measure)
    failed = runs[runs["term"] == ERROR]
    runs = runs[runs["term"] != ERROR]
    washout = settings_keywords(args.washout)
    print(f"{len(jobs)} clinics ({args.clinics} per scenario and size; sizes {args.patients}), "
          f"{args.boot} bootstrap replicates, measure {args.measure}, reference {args.reference}, "
          f"washout_days={washout.get('washout_days', Settings().washout_days)}"
          f"{'' if washout else ' (the default)'}"
          f", {args.workers} worker(s): {elapsed:.0f} s "
          f"({runs.groupby(['scenario', 'patients', 'seed'])['seconds'].first().mean():.1f} s "
          f"per clinic analysis); quarantined rows: "
          f"{int(runs.groupby(['scenario', 'patients', 'seed'])['quarantined'].first().sum())}")
    print(f"truth: {args.truth_patients:,} patients per design forced onto nominal days, none "
          f"after day {ic.LANDMARK}, rated at day {ic.LANDMARK}; bias = mean(estimate − truth) ± "
          "its Monte Carlo SE; ratio = mean CI width / (2 × 1.96 × SD of the estimates); a mark "
          "ending in ? could flip within 2 Monte Carlo SEs")
    print(render(summary))
    if len(failed):
        print(f"\n{len(failed)} clinic analyses failed (not in the table):")
        for _, r in failed.iterrows():
            print(f"  {r['scenario']} {r['patients']} seed {r['seed']}: {r['error']}")
    if any(ic.SCENARIOS[s].records_only for s in scenarios):
        ro = summary[summary["records_only"]]
        print(f"\nrecords-only scenarios: {int(ro['bias_ok'].sum())}/{len(ro)} rows within the "
              f"bias target, {int(ro['coverage_ok'].sum())}/{len(ro)} within coverage 93–97 %, "
              f"{int(ro['ratio_ok'].sum())}/{len(ro)} with width ratio ≤ 1.2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / f"{args.tag}_clinics.csv", index=False)
    summary.to_csv(out / f"{args.tag}_summary.csv", index=False)
    (out / f"{args.tag}_summary.md").write_text(
        f"`benchmarks/strategies.py {' '.join(argv if argv is not None else sys.argv[1:])}` — "
        f"{elapsed:.0f} s\n\n" + markdown(summary))
    print(f"written: {out}/{args.tag}_clinics.csv, _summary.csv, _summary.md")
    if not args.skip_speed:
        for n in args.speed:
            speed(n, args.boot_speed)


def speed(n: int, boot: int = 200) -> None:
    """``outcomes strategies`` (both measures, ``boot`` replicates, JSON) on one independent
    baseline clinic of ``n`` patients, in a child process: wall time and its peak memory
    (issue 22 item 7: 100,000 patients in ≤ 120 s and ≤ 4 GB on this 2-core machine)."""
    import resource
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        clinic = ic.simulate(ic.SCENARIOS["baseline"], n, seed=7)
        clinic.write(tmp)
        made = time.perf_counter() - t
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "outcomes", "strategies", tmp, "--boot",
                               str(boot), "--json"], capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20   # KiB → GiB (Linux)
    status = "" if done.returncode == 0 else f" — FAILED: {done.stderr.strip()[-300:]}"
    print(f"speed: outcomes strategies, {n:,} patients ({len(clinic.sessions):,} sessions), "
          f"pore and texture, {boot} replicates: {dt:.1f} s, peak memory of the largest child "
          f"so far {peak:.2f} GB (simulating took {made:.0f} s){status}")


if __name__ == "__main__":
    main()
