"""outcomes.format: the one way numbers are written for people, and rows for JSON."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from outcomes import format as fmt


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), -np.inf, pd.NA, np.nan])
def test_one_missing_mark_everywhere(value):
    assert fmt.number(value) == fmt.MISSING == "—"
    assert fmt.p_value(value) == fmt.interval(value, 1.0) == fmt.MISSING
    assert fmt.estimate_ci(value, 0.1, 0.2) == fmt.percent(value) == fmt.count(value) == "—"
    assert fmt.estimate_ci(value, 0.1, 0.2, missing="not estimable") == "not estimable"


@pytest.mark.parametrize(("x", "digits", "text"), [
    (-0.5, 2, "−0.50"), (-0.001, 2, "0.00"), (0.004, 2, "0.00"), (1.0, 0, "1"),
    (12.345, "size", "12.3"), (-9.994, "size", "−9.99"), (0.003, "size", "0.00"),
    (0.003, "limit", "0.003"), (-0.003, "limit", "−0.003"), (15.25, "limit", "15.2"),
    (np.float32(2.5), 1, "2.5"),
])
def test_number(x, digits, text):
    assert fmt.number(x, digits) == text


def test_an_ascii_minus_when_asked():
    assert fmt.number(-0.25, 3, minus="-") == "-0.250"
    assert fmt.number(-0.0001, 3, minus="-") == "0.000"


def test_intervals_and_estimates():
    assert fmt.interval(-0.2, 0.3) == "−0.20 to 0.30"
    assert fmt.estimate_ci(1.234, 0.5, 2) == "1.23 (0.50 to 2.00)"
    assert fmt.estimate_ci(0.31, 0.13, 0.5, words="95% CI ") == "0.31 (95% CI 0.13 to 0.50)"


@pytest.mark.parametrize(("args", "words"), [
    ((-0.31, -0.50, -0.13), "0.31 grades less (95% CI 0.13 to 0.50)"),
    ((0.19, 0.04, 0.35), "0.19 grades more (95% CI 0.04 to 0.35)"),
    ((-0.04, -0.22, 0.14), "0.04 grades less (95% CI from 0.22 less to 0.14 more)"),
    ((0.1, np.nan, np.nan), "0.10 grades more (no interval)"),
    ((np.nan, np.nan, np.nan), "not estimable"),
])
def test_differences_read_without_minus_signs(args, words):
    assert fmt.which_way(*args) == words


def test_p_values_percentages_and_counts():
    assert [fmt.p_value(p) for p in (0.0004, 0.5, 0.04213)] == ["<0.001", "0.500", "0.042"]
    assert [fmt.percent(s) for s in (0.4249, 1.0, 0.0)] == ["42%", "100%", "0%"]
    assert [fmt.percent(s, chance=True) for s in (0.999, 0.001, 0.5)] == [">99%", "<1%", "50%"]
    assert [fmt.count(n) for n in (0, 3, 5, np.int64(120), 4.0)] == ["0", "<5", "5", "120", "<5"]
    assert fmt.rows(3016) == "3,016" and fmt.rows(3) == "3"   # rows are not people


def test_json_rows_are_plain_json():
    frame = pd.DataFrame({"estimate": [1.5, np.nan, np.inf], "n": [3, 20, 0],
                          "flag": [True, False, True], "note": ["a\x1bb", "", None]})
    frame["n"] = frame["n"].astype("Int64")
    frame.loc[1, "n"] = pd.NA
    rows = fmt.json_rows(frame)
    assert json.loads(json.dumps(rows)) == rows
    assert [r["estimate"] for r in rows] == [1.5, None, None]
    assert [r["n"] for r in rows] == [3, None, 0]
    assert all(type(r["flag"]) is bool for r in rows)
    assert rows[0]["note"] == "a\x1bb"
    cleaned = fmt.json_rows(frame, text=lambda s: s.replace("\x1b", ""))
    assert cleaned[0]["note"] == "ab" and cleaned[2]["note"] is None


def test_json_value_scalars():
    assert fmt.json_value(np.float64(0.25)) == 0.25 and type(fmt.json_value(np.int64(2))) is int
    assert fmt.json_value(np.float64("nan")) is None and fmt.json_value(pd.NaT) is None
    assert fmt.json_value(math.inf) is None and fmt.json_value("x") == "x"
