"""The analysis object: settings validated up front, derived tables computed once, no stale caches."""

import pandas as pd
import pytest

from outcomes import load_records
from outcomes.analysis import Analysis
from outcomes.errors import RecordsError
from outcomes.tables.strategies import Strategy


@pytest.fixture(scope="module")
def records():
    return load_records("data/demo")


@pytest.mark.parametrize("setting, value, words", [
    ("measure", "redness", "`measure` must be one of ['pore', 'texture']"),
    ("landmark_days", 0, "`landmark_days` must be a whole number of days ≥ 1"),
    ("window_days", 4.5, "`window_days`"),
    ("region", "neck", "`region` must be one of"),
    ("rater", "mother", "`rater` must be one of"),
    ("treatments", ["laser"], "`treatment` must be among"),
    ("reference", "weekly", "`reference` must be one of"),
    ("min_followers", 0, "`min_followers`"),
    ("protocol", "monthly", "`protocol` must be an outcomes.attendance.Protocol"),
    ("strategies", ["monthly"], "`strategies` must hold Strategy objects"),
])
def test_each_bad_setting_is_one_clear_error(records, setting, value, words):
    with pytest.raises(RecordsError) as err:
        Analysis(records, **{setting: value})
    assert words in str(err.value)


def test_needs_records():
    with pytest.raises(RecordsError, match="needs Records"):
        Analysis(pd.DataFrame())


def test_derived_tables_are_computed_once(records):
    a = Analysis(records, measure="texture")
    assert a.table is a.table and a.ratings is a.ratings and a.primary is a.primary
    assert a.effects(mixed=False) is a.effects(mixed=False)
    assert a.schedules(boot=0, sensitivity=False) is a.schedules(boot=0, sensitivity=False)
    assert a.measure == "texture" and a.landmark_days == 182


def test_changed_setting_makes_a_new_object(records):
    a = Analysis(records)
    t = a.table
    b = a.with_settings(landmark_days=120)
    assert b is not a and b.landmark_days == 120 and a.landmark_days == 182
    assert a.table is t                       # the old object keeps its own answer
    assert b.table.attrs["landmark_days"] == 120
    with pytest.raises(RecordsError, match="Unknown setting"):
        a.with_settings(landmarks=3)
    with pytest.raises(AttributeError):
        a.settings.measure = "texture"        # frozen


def test_schedules_through_the_object_equal_the_function(records):
    from outcomes.estimate.schedules import compare_strategies
    a = Analysis(records, strategies=[Strategy("single", None),
                                      Strategy("every_2_months", None)], reference="single")
    direct = compare_strategies(records, strategies=a.strategies, reference="single", boot=20,
                                sensitivity=False)
    pd.testing.assert_frame_equal(a.schedules(boot=20, sensitivity=False).results,
                                  direct.results)
