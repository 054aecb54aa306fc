"""Benchmark: load_records on 1M sessions, 300k assessments and 100k patients (CSV).

Writes the synthetic CSV files into a temporary folder, then times, in the same run,
``pyarrow.csv.read_csv`` of the three files (the raw reference: type inference, multithreaded,
no validation) and ``outcomes.records.load_records`` of the folder: one untimed warm-up of each,
then ``REPEATS`` interleaved rounds alternating which goes first. The best time of each is kept
(the machine is shared; the minimum is the least noisy estimate). CPU time
(``time.process_time``, all threads) is printed too, because the wall-clock ratio depends on how
many cores other processes leave free. Peak memory is the peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of a fresh child process that only runs
``load_records`` once, so neither the writer nor the raw reads count towards it.

Clean exports take the loader's fast paths; an export with a few bad cells partly does not (see
``outcomes/records/__init__.py``). So the same files are then timed again with a dozen typical mistakes
planted (:data:`MISTAKES`: dates not YYYY-MM-DD or impossible, out-of-range and non-numeric values,
empty ids, unknown patients), printed as an extra line.

Targets (issue 2): ratio ≤ 2 and peak ≤ 1.5 GB. The last line is ``ratio vs raw pyarrow read: R``
(the clean files).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

N_SESSIONS, N_ASSESSMENTS, N_PATIENTS = 1_000_000, 300_000, 100_000
REPEATS = 7
TABLES = ("sessions", "assessments", "patients")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _dates(rng, n: int) -> pa.Array:
    days = np.datetime64("2015-01-01") + rng.integers(0, 3900, n).astype("timedelta64[D]")
    return pc.strftime(pa.array(days.astype("datetime64[s]")), "%Y-%m-%d")


def _pick(rng, choices, n, p=None) -> pa.Array:
    codes = pa.array(rng.choice(len(choices), n, p=p).astype("int32"))
    return pa.DictionaryArray.from_arrays(codes, pa.array(choices)).cast(pa.string())


def write_records(folder: Path, seed: int = 1) -> None:
    """Write the three CSV tables (valid records, the kind a clinic export holds)."""
    rng = np.random.default_rng(seed)
    n, m, k = N_SESSIONS, N_ASSESSMENTS, N_PATIENTS
    sessions = pa.table({
        "patient_id": _ids("P", rng.integers(0, k, n), 7), "date": _dates(rng, n),
        "treatment": _pick(rng, ["microneedling", "hydrafacial", "chemical peel", "laser"], n),
        "depth_mm": _pick(rng, ["0.5", "1.0", "1.5", "2.0", "2.5", ""], n),
        "areas": _pick(rng, ["nose;chin", "forehead;cheeks", "nose;chin;forehead;cheeks"], n),
        "clinician_id": _ids("C", rng.integers(0, 30, n), 3)})
    assessments = pa.table({
        "patient_id": _ids("P", rng.integers(0, k, m), 7), "date": _dates(rng, m),
        "region": _pick(rng, ["face", "nose", "chin"], m, [0.8, 0.1, 0.1]),
        "rater": _pick(rng, ["clinician", "patient"], m, [0.9, 0.1]),
        "pore": pc.cast(pa.array(rng.integers(0, 9, m) / 2), pa.string()),
        "texture": pc.cast(pa.array(rng.integers(0, 9, m) / 2), pa.string())})
    patients = pa.table({
        "patient_id": _ids("P", np.arange(k), 7),
        "age": pc.cast(pa.array(rng.integers(18, 80, k)), pa.string()),
        "sex": _pick(rng, ["F", "M", "X"], k, [0.8, 0.18, 0.02]),
        "skin_type": _pick(rng, ["1", "2", "3", "4", "5", "6", "II", "III"], k),
        "smoker": _pick(rng, ["never", "former", "current"], k),
        "sun_exposure": _pick(rng, ["low", "moderate", "high"], k),
        "sleep_hours": pc.cast(pa.array(np.round(rng.normal(7, 1, k), 1)), pa.string()),
        "skincare": _pick(rng, ["none", "basic", "medical"], k),
        "concern": _pick(rng, ["enlarged", "clogged", "both"], k),
        "clinic_id": _ids("K", rng.integers(0, 3, k), 2)})
    for name, table in zip(TABLES, (sessions, assessments, patients)):
        pacsv.write_csv(table, folder / f"{name}.csv",
                        pacsv.WriteOptions(quoting_style="none"))


#: (table, line, column, value) planted for the "with mistakes" timing
MISTAKES = [
    ("sessions", 123, "date", "2024-02-30"), ("sessions", 484, "date", "15/03/2024"),
    ("sessions", 1784, "depth_mm", "15"), ("sessions", 50_000, "treatment", ""),
    ("sessions", 600_000, "date", "1985-01-01"), ("sessions", 900_000, "patient_id", ""),
    ("assessments", 2904, "texture", "mild"), ("assessments", 4405, "patient_id", "P9999999"),
    ("assessments", 100_000, "pore", "9"), ("assessments", 200_000, "date", "2030-01-01"),
    ("patients", 500, "age", "200"), ("patients", 50_000, "skin_type", "VII"),
]


def plant_mistakes(folder: Path) -> None:
    """Overwrite the cells named in :data:`MISTAKES` (files written by :func:`write_records`)."""
    for table in TABLES:
        path = folder / f"{table}.csv"
        lines = path.read_text().split("\n")
        header = [h.strip('"') for h in lines[0].split(",")]
        for t, line, column, value in MISTAKES:
            if t == table:
                cells = lines[line - 1].split(",")
                cells[header.index(column)] = value
                lines[line - 1] = ",".join(cells)
        path.write_text("\n".join(lines))


def _raw_read(folder: Path) -> None:
    for name in TABLES:
        pacsv.read_csv(folder / f"{name}.csv")


def _peak_rss_mb(folder: Path) -> float:
    code = ("import resource, sys; from outcomes.records import load_records; "
            "load_records(sys.argv[1]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(folder)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    from outcomes.records import load_records

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_records(folder)
        size = sum((folder / f"{t}.csv").stat().st_size for t in TABLES) / 1e6
        print(f"wrote {N_SESSIONS:,} sessions, {N_ASSESSMENTS:,} assessments, "
              f"{N_PATIENTS:,} patients ({size:.0f} MB of CSV) in "
              f"{time.perf_counter() - t0:.1f} s")
        raw, load, raw_cpu, load_cpu = [], [], [], []
        records = load_records(folder)  # warm-up (imports, page cache), not timed
        _raw_read(folder)
        for i in range(REPEATS):
            # interleaved, alternating which goes first, so a burst of load from other
            # processes on the shared machine does not always hit the same one
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t, c = time.perf_counter(), time.process_time()
                if which == 0:
                    _raw_read(folder)
                    raw.append(time.perf_counter() - t)
                    raw_cpu.append(time.process_time() - c)
                else:
                    records = load_records(folder)
                    load.append(time.perf_counter() - t)
                    load_cpu.append(time.process_time() - c)
        print(f"loaded rows: {records.loaded_rows}, quarantined: {records.n_quarantined}")
        print(f"raw pyarrow.csv.read_csv: best {min(raw):.3f} s, median {np.median(raw):.3f} s, "
              f"best CPU {min(raw_cpu):.3f} s")
        print(f"load_records:             best {min(load):.3f} s, median {np.median(load):.3f} s, "
              f"best CPU {min(load_cpu):.3f} s")
        print(f"peak RSS of a process running load_records once: {_peak_rss_mb(folder):.0f} MB "
              "(ru_maxrss)")
        ratio = min(load) / min(raw)
        plant_mistakes(folder)
        dirty = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            records = load_records(folder)
            dirty.append(time.perf_counter() - t)
        print(f"with {len(MISTAKES)} planted mistakes: load_records best {min(dirty):.3f} s "
              f"({records.n_quarantined} rows quarantined), ratio {min(dirty) / min(raw):.2f}")
        print(f"ratio vs raw pyarrow read: {ratio:.2f}")


if __name__ == "__main__":
    main()
