"""From a practice system's export to the schedule comparison, with the README's commands only
(issue 23): `outcomes sources RAW --write` (the draft, unedited) → `outcomes anonymise` →
`outcomes strategies --json` gives the estimates of the records the export was made from.

Two comparisons, because pseudonyms are part of the answer:

* with the records the export was made from, labelled with the export's ids and anonymised
  with the same key: the same patients under the same pseudonyms, so every number must be
  *identical* — point estimates, bootstrap intervals, counts;
* with those records as simulated (ids ``P0001``..., not anonymised): the patients sort in
  another order, which moves the iterative weighting fits in their last digits and draws other
  bootstrap samples. The point estimates agree to 1e-6 and the counts exactly; the intervals
  are not compared (other draws, not another answer).
"""

from __future__ import annotations

import contextlib
import filecmp
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sources_fixtures import simulation

from outcomes.cli import main
from outcomes.records import load_records
from outcomes.synthetic import demo_simulation
from outcomes.synthetic.export import EXPORT_FILES, write_practice_export

DATA = Path(__file__).resolve().parents[1] / "data"
# few replicates, and numbers from 5 effective followers: 300 patients, and the point here is
# that the three folders give the same numbers, not the numbers themselves
BOOT = ["--boot", "20", "--seed", "3", "--min-followers", "5"]


def run(*argv) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(a) for a in argv]) == 0, argv
    return out.getvalue()


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    """The README's path on an export of 300 simulated patients, and its reference."""
    base = tmp_path_factory.mktemp("readme")
    sim = simulation(300, 11)
    made = write_practice_export(base / "raw-export", sim)
    made.write_contract_records(base / "contract")
    sim.write(base / "simulated")
    key = base / "keys" / "clinic.key"
    run("sources", base / "raw-export", "--write")
    run("anonymise", base / "raw-export", base / "my-clinic", "--key-file", key)
    run("anonymise", base / "contract", base / "reference", "--key-file", key)
    outs = {name: base / name for name in ("my-clinic", "reference", "simulated")}
    estimates = {name: json.loads(run("strategies", folder, "--json", *BOOT))
                 for name, folder in outs.items()}
    return base, sim, outs, estimates


def test_the_estimates_are_those_of_the_records_it_was_made_from(path):
    mine, reference = path[3]["my-clinic"], path[3]["reference"]
    assert len(mine) == 14 and sum(r["estimate"] is not None for r in mine) >= 8
    assert mine == reference  # every key of every row, intervals included


def test_the_point_estimates_equal_the_simulated_records(path):
    mine, simulated = path[3]["my-clinic"], path[3]["simulated"]
    for a, b in zip(mine, simulated, strict=True):
        assert (a["measure"], a["term"], a["n"], a["n_followed"], a["n_outcome"]) == (
            b["measure"], b["term"], b["n"], b["n_followed"], b["n_outcome"])
        if b["estimate"] is None:
            assert a["estimate"] is None
        else:
            assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-6, abs=1e-9)
            assert a["naive_estimate"] == pytest.approx(b["naive_estimate"], rel=1e-12)


def test_the_records_written_are_the_simulated_ones(path):
    _, sim, outs, _ = path
    out = load_records(outs["my-clinic"])
    assert out.n_quarantined == 0
    assert len(out.sessions) == len(sim.sessions)
    assert len(out.assessments) == len(sim.assessments)
    ref = load_records(outs["reference"])
    key = ["patient_id"]
    for c in ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "skincare",
              "concern", "clinic_id"):
        mine = out.patients.set_index(key)[c].sort_index()
        theirs = ref.patients.set_index(key)[c].sort_index()
        pd.testing.assert_series_equal(mine, theirs, check_dtype=False, obj=c)


def test_an_xlsx_export_gives_the_same_records(tmp_path):
    """The export as one workbook (dates of appointments and births as date cells, ratings as
    numbers, the form's times as text) writes the same records as its CSV files."""
    sim = simulation(60, 5)
    key = tmp_path / "k" / "clinic.key"
    for kind in ("csv", "xlsx"):
        write_practice_export(tmp_path / kind, sim, xlsx=kind == "xlsx")
        run("sources", tmp_path / kind, "--write")
        run("anonymise", tmp_path / kind, tmp_path / f"out-{kind}", "--key-file", key)
    assert (tmp_path / "xlsx" / "practice_export.xlsx").exists()
    for name in ("sessions.csv", "assessments.csv", "patients.csv"):
        lines = [sorted((tmp_path / f"out-{kind}" / name).read_text().splitlines())
                 for kind in ("csv", "xlsx")]
        assert lines[0] == lines[1] and len(lines[0]) > 60, name


def test_the_shipped_export_is_what_the_package_writes(tmp_path):
    write_practice_export(tmp_path, demo_simulation())
    for name in EXPORT_FILES:
        assert filecmp.cmp(tmp_path / name, DATA / "demo-export" / name, shallow=False), name
