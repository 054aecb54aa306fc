"""Every setting reaches the number it should change — and leaves the others alone.

A setting a function accepts and ignores is a wrong number with the wrong label (issue 21: the
region, rater, protocol and baseline window once never reached ``effects()``). For each setting,
the demo analysis is redone with one setting changed, and four answers are compared with the
default analysis: the analysis table, the association models (``effects``), the schedules
compared and the clinic's beliefs. Each must change exactly when the setting is one of its
inputs.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from outcomes import Analysis, load_records
from outcomes.protocols import Protocol, Strategy, default_strategies

ALL = {"table", "effects", "schedules", "beliefs"}
SIX_WEEKLY = Strategy("six_weekly", Protocol.every(42, 7))

#: setting → (another value, the answers it must change; every other answer must not move)
CASES = {
    "measure": ("texture", ALL),
    "landmark_days": (150, ALL),
    "window_days": (30, ALL),
    "baseline_days": (14, ALL),
    "permissible_gap": (30, {"table"}),        # lapses; the default consistency is adherence
    "region": ("nose", ALL),
    "rater": ("patient", ALL),
    # the schedule comparison studies one treatment (`treatment`, default the most frequent:
    # microneedling on the demo), whatever the treatments counted elsewhere
    "treatments": (("microneedling",), ALL - {"schedules"}),
    "protocol": (Protocol(loading_sessions=4, loading_interval=21, loading_tolerance=5),
                 ALL),                          # adherence; the schedule called protocol
    "strategies": ((*default_strategies().values(), SIX_WEEKLY), {"schedules"}),
    "reference": ("single", {"schedules"}),   # the belief is protocol vs every two months
    # 10: protocol and every two months (effective 18 and 14 followers) get a number
    "min_followers": (20, {"schedules", "beliefs"}),
    "washout_days": (0, {"schedules", "beliefs"}),       # new patients only: the trial alone
    "treatment": ("hydrafacial", {"schedules", "beliefs"}),  # the trial's treatment under study
}


def _digest(frame: pd.DataFrame) -> str:
    frame = frame.reset_index(drop=True)
    for c in frame.columns:
        if pd.api.types.is_float_dtype(frame[c]):
            frame[c] = frame[c].round(10)
    text = frame.to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _answers(a: Analysis) -> dict[str, str]:
    schedules = a.schedules(boot=0, sensitivity=False)
    return {
        "table": _digest(a.table),
        "effects": _digest(a.effects().table[["model", "term", "estimate", "n"]]),
        "schedules": _digest(schedules.table[["term", "estimate", "n_outcome", "n"]]),
        "beliefs": _digest(a.beliefs(boot=0).table[["belief", "estimate", "n", "verdict"]]),
    }


@pytest.fixture(scope="module")
def records():
    return load_records("data/demo")


@pytest.fixture(scope="module")
def default(records):
    return _answers(Analysis(records))


def test_every_setting_has_a_case():
    from outcomes import Settings

    assert sorted(CASES) == sorted(Settings.names())


@pytest.mark.parametrize("setting", list(CASES))
def test_a_setting_changes_what_it_should_and_nothing_else(records, default, setting):
    value, changes = CASES[setting]
    a = Analysis(records, **{setting: value})
    assert getattr(a.settings, setting) != getattr(Analysis(records).settings, setting)
    got = _answers(a)
    changed = {k for k in got if got[k] != default[k]}
    assert changed == changes, (f"{setting}={value!r} changed {sorted(changed)}, "
                                f"expected {sorted(changes)}")


def test_the_permissible_gap_reaches_the_lapses_model(records):
    rows = [Analysis(records, permissible_gap=g).effects(consistency="lapses", mixed=False).table
            for g in (45, 30)]
    lapses = [r.loc[r["term"] == "lapses", "estimate"].iloc[0] for r in rows]
    assert np.isfinite(lapses).all() and lapses[0] != lapses[1]


def test_the_consistency_option_reaches_the_model(records):
    a = Analysis(records)
    terms = {c: set(a.effects(consistency=c, mixed=False).table["term"])
             for c in ("adherence", "interval_cv")}
    assert "adherence" in terms["adherence"] and "interval_cv" in terms["interval_cv"]
