"""The question as one object: Settings validated when built, Analysis the only builder of
derived tables, immutable, with a bounded cache of its own — and every setting reaching the
number it should change (and only those)."""

import pandas as pd
import pytest

from outcomes import Analysis, Settings, load_records
from outcomes.analysis import CACHE_SIZE
from outcomes.errors import SettingError
from outcomes.protocols import Protocol, Strategy


@pytest.fixture(scope="module")
def records():
    return load_records("data/demo")


@pytest.mark.parametrize("setting, value, words", [
    ("landmark_days", 0, "`landmark_days` must be a whole number of days ≥ 1, but 0"),
    ("window_days", 4.5, "`window_days` must be a whole number of days ≥ 0, but 4.5"),
    ("window_days", 200, "`window_days` must be below `landmark_days` (182)"),
    ("baseline_days", -1, "`baseline_days`"),
    ("permissible_gap", 0, "`permissible_gap`"),
    ("region", "forhead", ("`region` must be one of ['face', 'nose', 'forehead', 'chin', "
                           "'cheeks'], but 'forhead' was passed. Did you mean 'forehead'?")),
    ("rater", "mother", "`rater` must be one of ['clinician', 'patient', 'device']"),
    ("treatments", [3], "`treatments` must be a treatment name or a list of them"),
    ("protocol", "monthly", "`protocol` must be an outcomes.protocols.Protocol"),
    ("strategies", ["monthly"], "`strategies` must hold outcomes.protocols.Strategy objects"),
    ("strategies", [Strategy("single", None)], "at least two schedules"),
    ("min_followers", 0, "`min_followers`"),
])
def test_settings_are_checked_when_built(setting, value, words):
    with pytest.raises(SettingError) as err:
        Settings(**{setting: value})
    assert words in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("setting, value, words", [
    ("measure", "pores", ("`measure` must be one of ['pore', 'texture'], but 'pores' was "
                          "passed. Did you mean 'pore'?")),
    ("treatments", ["microneedle"], ("`treatments` must be among ['hydrafacial', "
                                     "'microneedling'], but 'microneedle' was passed. Did you "
                                     "mean 'microneedling'?")),
    ("reference", "monthy", ("`reference` must be one of ['protocol', 'every_2_months', "
                             "'monthly', 'single'], but 'monthy' was passed. Did you mean "
                             "'monthly'?")),
])
def test_settings_the_records_cannot_answer_are_checked_against_them(records, setting, value,
                                                                      words):
    with pytest.raises(SettingError) as err:
        Analysis(records, **{setting: value})
    assert words in str(err.value)


def test_an_unknown_setting_names_the_settings():
    with pytest.raises(SettingError, match="Did you mean 'landmark_days'"):
        Settings().replace(landmark_day=120)
    with pytest.raises(TypeError):
        Settings(landmark=120)


def test_needs_records():
    with pytest.raises(SettingError, match="needs Records"):
        Analysis(pd.DataFrame())


def test_keywords_build_the_settings(records):
    a = Analysis(records, measure="texture", landmark_days=120)
    b = Analysis(records, Settings(measure="texture", landmark_days=120))
    c = Analysis(records, Settings(measure="texture"), landmark_days=120)
    assert a.settings == b.settings == c.settings
    assert a.settings.strategies is not None         # resolved against the records
    assert [s.name for s in a.settings.strategies] == ["protocol", "every_2_months", "monthly",
                                                       "single"]


def test_derived_tables_are_computed_once(records):
    a = Analysis(records, measure="texture")
    assert a.table is a.table and a.ratings is a.ratings and a.primary is a.primary
    assert a.effects(mixed=False) is a.effects(mixed=False)
    assert a.schedules(boot=0, sensitivity=False) is a.schedules(boot=0, sensitivity=False)
    assert a.measure.name == "texture" and a.settings.landmark_days == 182


def test_the_cache_is_bounded_and_owned_by_the_object(records):
    a = Analysis(records)
    first = a.schedules(boot=0, sensitivity=False, seed=0)
    for seed in range(1, CACHE_SIZE + 1):
        a.schedules(boot=0, sensitivity=False, seed=seed)
    assert len(a._cache) == CACHE_SIZE
    assert a.schedules(boot=0, sensitivity=False, seed=0) is not first   # evicted, recomputed
    assert "_analyses" not in vars(records)           # nothing hangs on the records


def test_an_analysis_is_read_only(records):
    a = Analysis(records)
    with pytest.raises(AttributeError, match="read-only"):
        a.settings = Settings(measure="texture")
    with pytest.raises(AttributeError):
        a.settings.measure = "texture"                # frozen


def test_changed_setting_makes_a_new_object(records):
    a = Analysis(records)
    t = a.table
    b = a.with_settings(landmark_days=120)
    assert b is not a and b.settings.landmark_days == 120 and a.settings.landmark_days == 182
    assert a.table is t                       # the old object keeps its own answer
    assert b.table.attrs["landmark_days"] == 120


def test_with_settings_keeps_custom_strategies(records):
    mine = (Strategy("single", None), Strategy("six_weekly", Protocol.every(42, 7)))
    a = Analysis(records, strategies=mine, reference="single")
    b = a.with_settings(measure="texture")
    assert b.settings.strategies == mine and b.settings.reference == "single"


def test_the_protocol_setting_is_the_protocol_schedule(records):
    p = Protocol(loading_sessions=4, loading_interval=21, loading_tolerance=5)
    a = Analysis(records, protocol=p)
    assert a.strategies["protocol"].protocol == p
    assert "4 sessions 21 ± 5 days apart" in a.strategies["protocol"].label


def test_schedules_through_the_object_equal_the_function(records):
    from outcomes.estimate.schedules import compare_strategies
    a = Analysis(records, strategies=[Strategy("single", None),
                                      Strategy("every_2_months", Protocol.every(61, 10))],
                 reference="single")
    direct = compare_strategies(records, strategies=a.strategies, reference="single", boot=20,
                                sensitivity=False)
    pd.testing.assert_frame_equal(a.schedules(boot=20, sensitivity=False).table, direct.results)
