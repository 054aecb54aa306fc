"""The demo clinic (``data/demo``), the demo with planted mistakes, and how close the estimates
come to its truth.

:func:`demo_simulation` is the clinic behind the shipped records; :func:`write_with_mistakes`
writes it with :data:`MISTAKES` planted at known lines (``data/demo-with-mistakes``, notebook 01);
:func:`truth_check` sets the naive and adjusted estimates beside the truth, with each trap of
:data:`TRAPS` switched off in turn (only a simulated clinic can tell).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from .clinic import simulate
from .params import _NO_RESPONSE, DEMO_PATIENTS, DEMO_SEED, SimParams
from .truth import Simulation

__all__ = ["MISTAKES", "TRAPS", "demo_simulation", "truth_check", "write_with_mistakes"]


def demo_simulation() -> Simulation:
    """The simulation behind the shipped ``data/demo`` (``DEMO_PATIENTS``, ``DEMO_SEED``)."""
    return simulate(DEMO_PATIENTS, seed=DEMO_SEED)


# --------------------------------------------------------------------------------------------------
# The demo with mistakes: what a real export's problems look like, at known lines
# --------------------------------------------------------------------------------------------------

#: Mistakes planted by :func:`write_with_mistakes`: (file, data row after which the bad row is
#: inserted, column, bad value or None for an exact copy of the row above, what went wrong). Each
#: bad row is a copy of the row above it with one cell changed, the way a typo or a double entry
#: happens at a reception desk, so the clean demo rows are all still there.
MISTAKES: tuple[tuple[str, int, str, str | None, str], ...] = (
    ("sessions.csv", 120, "date", "2024-02-30", "a date that does not exist"),
    ("sessions.csv", 480, "date", "15/03/2024", "a day-first date in one cell"),
    ("sessions.csv", 910, "date", "2099-05-01", "a date in the future"),
    ("sessions.csv", 1333, "depth_mm", "-1.0", "a negative needle depth"),
    ("sessions.csv", 1777, "depth_mm", "15", "15 mm typed for 1.5 mm"),
    ("sessions.csv", 2210, "patient_id", "", "no patient id"),
    ("sessions.csv", 2650, "date", None, "the same session entered twice"),
    ("assessments.csv", 700, "pore", "5", "a grade above the 0-4 scale"),
    ("assessments.csv", 2900, "texture", "mild", "a word instead of a grade"),
    ("assessments.csv", 4400, "patient_id", "P9999", "a patient not in the records"),
    ("assessments.csv", 6100, "date", "1989-12-31", "a date before 1990"),
    ("assessments.csv", 7700, "region", "neck", "a region the scale does not cover"),
    ("patients.csv", 250, "smoker", "sometimes",
     "the patient above entered again, with a smoking status outside never/former/current"),
)


def write_with_mistakes(path: str | Path, simulation: Simulation | None = None) -> pd.DataFrame:
    """Write the demo records with the :data:`MISTAKES` planted, and return where they are.

    The clean demo (or ``simulation``) is written as by :meth:`Simulation.write`; then each
    planted row is inserted, as text, after its template row. The loader must set aside exactly
    these rows and load every other one, so this folder shows a clinic lead what quarantine looks
    like (notebook 01) and tests the loader against lines known in advance.

    Returns
    -------
    DataFrame
        ``file``, ``line`` (spreadsheet line of the bad row, header = 1), ``column``, ``value``,
        ``mistake`` — one row per planted mistake.
    """
    sim = demo_simulation() if simulation is None else simulation
    path = sim.write(path)
    planted = []
    for file in ("sessions.csv", "assessments.csv", "patients.csv"):
        plan = sorted((m for m in MISTAKES if m[0] == file), key=lambda m: m[1])
        if plan:
            planted += _plant(path / file, plan)
    return pd.DataFrame(planted, columns=["file", "line", "column", "value", "mistake"])


def _plant(file: Path, plan) -> list[tuple]:
    header, *rows = file.read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    out, planted, todo = [header], [], list(plan)
    for i, row in enumerate(rows):
        out.append(row)
        while todo and todo[0][1] == i:
            _, _, column, value, mistake = todo.pop(0)
            cells = row.split(",")
            shown = cells[columns.index(column)] if value is None else value
            if value is not None:
                cells[columns.index(column)] = value
            out.append(",".join(cells))
            planted.append((file.name, len(out), column, shown, mistake))
    if todo:
        raise ValueError(f"{file.name} has too few rows for the planted mistakes")
    file.write_bytes(("\n".join(out) + "\n").encode("utf-8"))
    return planted


# --------------------------------------------------------------------------------------------------
# How close are the estimates to the truth? (only a simulated clinic can tell)
# --------------------------------------------------------------------------------------------------

#: The traps :func:`truth_check` switches off one at a time: label → SimParams fields set to zero.
TRAPS: dict[str, dict[str, float]] = {
    "informative drop-out": {"dropout_nonresponder": 0.0},
    "attendance driven by the recorded ratings": dict(_NO_RESPONSE),
    "confounding by indication": {"confounding": 0.0},
    "flare and noise at baseline": {"baseline_flare_mean": 0.0, "baseline_noise_sd": 0.0},
    "consistency effect": {"consistency_bunch": 0.0, "consistency_lapse": 0.0},
    "rater noise and rounding": {"rater_sd": 0.0, "clinician_bias_sd": 0.0, "rating_step": 0.0},
}


def truth_check(n_patients: int = DEMO_PATIENTS, *, seed: int = DEMO_SEED,
                params: SimParams | None = None, measures=("pore", "texture"),
                traps: bool = True) -> pd.DataFrame:
    """Naive and adjusted estimates beside the simulator's truth, with each trap switched off in turn.

    For the clinic ``simulate(n_patients, seed=seed, params=params)`` (the demo by default) and
    then for the same clinic with each entry of :data:`TRAPS` set to zero, and with all of them off,
    this fits :func:`outcomes.estimate.effects.naive_effect` and :func:`~outcomes.estimate.effects.adjusted_effect` and
    sets them beside the truth ``frequency_effect_analysed`` (the interventional effect of one more
    session a month among the patients analysed, see :func:`simulate`).

    Returns
    -------
    DataFrame
        ``scenario`` ("as simulated", "without <trap>", "without any trap"), ``measure``, ``truth``,
        ``naive``, ``adjusted``, ``ci_low``, ``ci_high`` (of the adjusted estimate), ``bias``
        (adjusted − truth), ``covers`` (the adjusted 95 % CI contains the truth), ``n``.
    """
    from ..estimate.effects import adjusted_effect, naive_effect
    from ..settings import Settings
    from ..tables.analysis_table import analysis_table

    base = params or SimParams()
    scenarios = {"as simulated": base}
    if traps:
        scenarios |= {f"without {name}": dataclasses.replace(base, **fields)
                      for name, fields in TRAPS.items()}
        scenarios["without any trap"] = base.without_traps()
    rows = []
    for label, p in scenarios.items():
        sim = simulate(n_patients, seed=seed, params=p)
        records = sim.to_records()
        truth = sim.truth.set_index(["measure", "estimand"])["value"]
        for m in measures:
            table = analysis_table(records, Settings(measure=m))
            adj = adjusted_effect(table).set_index("term").loc["sessions_per_month"]
            t = float(truth[(m, "frequency_effect_analysed")])
            rows.append({"scenario": label, "measure": m, "truth": t,
                         "naive": float(naive_effect(table)["estimate"].iloc[0]),
                         "adjusted": float(adj["estimate"]), "ci_low": float(adj["ci_low"]),
                         "ci_high": float(adj["ci_high"]), "bias": float(adj["estimate"]) - t,
                         "covers": bool(adj["ci_low"] <= t <= adj["ci_high"]),
                         "n": int(adj["n"])})
    return pd.DataFrame(rows)
