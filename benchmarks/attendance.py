"""Benchmark: per-patient attendance metrics, outcomes vs DuckDB SQL on the same data in the same run.

Data: 1,000,000 session rows for 100,000 patients (every patient has at least one session; about 10
on average, a few same-day double entries), rows shuffled, ``patient_id`` strings, ``date``
datetime64, ``treatment`` categorical.

- outcomes: ``patient_metrics(sessions)`` — everything it returns (count, first, last, mean/median/
  longest gap, interval CV, lapses, PDC coverage, protocol adherence, phase), from the raw frame.
- DuckDB: the core metrics only — distinct (patient, day), then per patient count, first, last, mean
  gap, longest gap between sessions and CV (sample SD / mean of the gaps) with a window ``lag``,
  fetched back as a pandas DataFrame.

Both results are checked to agree (exit status 1 and a message otherwise). Timings are the best of
``REPEATS`` interleaved runs each, so both sides see the same machine load. DuckDB runs with its
default threads (the reference of the ratio) and, for a like-with-like single-core comparison, with
one thread (printed too). The last line is ``ratio vs duckdb: R`` (outcomes time / DuckDB time with
default threads; target R ≤ 1.5). DuckDB is a benchmark-only dependency.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import duckdb
import numpy as np
import pandas as pd

from outcomes.tables.attendance import patient_metrics

N_SESSIONS = 1_000_000
N_PATIENTS = 100_000
REPEATS = 5

SQL = """
WITH d AS (SELECT DISTINCT patient_id, CAST(date AS DATE) AS day FROM sessions),
g AS (SELECT patient_id, day,
             date_diff('day', lag(day) OVER (PARTITION BY patient_id ORDER BY day), day) AS gap
      FROM d)
SELECT patient_id, count(*) AS n_sessions, min(day) AS first_session, max(day) AS last_session,
       avg(gap) AS mean_gap, max(gap) AS max_between_gap, stddev_samp(gap) / avg(gap) AS interval_cv
FROM g GROUP BY patient_id
"""


def make_sessions(seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    who = np.concatenate([np.arange(N_PATIENTS),
                          rng.integers(0, N_PATIENTS, N_SESSIONS - N_PATIENTS)])
    t0 = rng.integers(0, 5 * 365, N_PATIENTS)
    day = t0[who] + np.where(np.arange(N_SESSIONS) < N_PATIENTS, 0,
                             rng.integers(0, 730, N_SESSIONS))
    order = rng.permutation(N_SESSIONS)
    date = (np.datetime64("2019-01-01", "D") + day[order]).astype("datetime64[us]")
    return pd.DataFrame({
        "patient_id": pd.array(np.char.add("P", np.char.zfill(who[order].astype(str), 6)),
                               dtype="str"),
        "date": date,
        "treatment": pd.Categorical(rng.choice(["microneedling", "hydrafacial"], N_SESSIONS,
                                               p=[0.8, 0.2])),
    })


def best_times(fns: dict, repeats=REPEATS):
    """Best wall time of each function, runs interleaved so all see the same machine load."""
    best, results = dict.fromkeys(fns, float("inf")), {}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best, results


def check(ours: pd.DataFrame, duck: pd.DataFrame) -> list[str]:
    problems = []
    duck = duck.sort_values("patient_id", ignore_index=True)
    if len(ours) != len(duck) or not (ours["patient_id"].to_numpy()
                                      == duck["patient_id"].to_numpy()).all():
        return [f"patients differ: outcomes {len(ours)}, duckdb {len(duck)}"]
    if not (ours["n_sessions"].to_numpy() == duck["n_sessions"].to_numpy()).all():
        problems.append("n_sessions differ")
    for col in ("first_session", "last_session"):
        a = ours[col].to_numpy().astype("datetime64[D]")
        b = pd.to_datetime(duck[col]).to_numpy().astype("datetime64[D]")
        if not (a == b).all():
            problems.append(f"{col} differ")
    for col in ("mean_gap", "interval_cv"):
        a, b = ours[col].to_numpy(float), duck[col].to_numpy(float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            problems.append(f"{col} differ (max abs diff {np.nanmax(np.abs(a - b)):.3g})")
    # outcomes' longest_gap also counts the tail from the last session to the window end (the day
    # after the data end, for the default windows); the head is 0 there (window starts at t0)
    data_end = ours["end"].iloc[0].to_datetime64().astype("datetime64[D]")
    tail = (data_end - pd.to_datetime(duck["last_session"]).to_numpy().astype(
        "datetime64[D]")).astype(np.int64)
    expected = np.maximum(duck["max_between_gap"].fillna(0).to_numpy(np.int64), tail)
    if not (ours["longest_gap"].to_numpy() == expected).all():
        problems.append("longest_gap differs")
    return problems


def main() -> int:
    sessions = make_sessions()
    print(f"{len(sessions):,} sessions for {sessions['patient_id'].nunique():,} patients "
          f"(best of {REPEATS} runs each)")
    con = duckdb.connect()
    con.register("sessions", sessions)
    con1 = duckdb.connect(config={"threads": 1})
    con1.register("sessions", sessions)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    t, res = best_times({"duck": lambda: con.execute(SQL).df(),
                         "duck1": lambda: con1.execute(SQL).df(),
                         "ours": lambda: patient_metrics(sessions)})
    t_duck, t_duck1, t_ours, duck, ours = t["duck"], t["duck1"], t["ours"], res["duck"], res["ours"]
    tracemalloc.start()
    patient_metrics(sessions)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    problems = check(ours, duck) + check(ours, res["duck1"])
    print(f"duckdb   core metrics (count, first, last, mean gap, longest gap, CV), "
          f"{threads} threads: {t_duck:.3f} s")
    print(f"duckdb   same query, 1 thread:                                       {t_duck1:.3f} s")
    print(f"outcomes patient_metrics (all {ours.shape[1]} columns, 1 thread):           "
          f"{t_ours:.3f} s  (ratio vs duckdb 1 thread: {t_ours / t_duck1:.2f})")
    print(f"outcomes peak traced memory (tracemalloc): {peak / 2**20:.0f} MiB; "
          f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    if problems:
        print("MISMATCH between outcomes and duckdb: " + "; ".join(problems))
        return 1
    print("results agree: n_sessions, first/last session, mean gap, longest gap, interval CV")
    print(f"ratio vs duckdb: {t_ours / t_duck:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
