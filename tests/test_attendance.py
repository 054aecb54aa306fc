"""Attendance metrics: hand-computed schedules, a slow reference implementation, properties."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.errors import RecordsError
from outcomes.protocols import Protocol
from outcomes.tables.attendance import (
    DAYS_PER_MONTH,
    exposure_at,
    patient_metrics,
    summarise,
)
from outcomes.tables.persistence import persistence, persistence_curve

D0 = pd.Timestamp("2024-01-01")
FEW = settings(max_examples=60, deadline=None)


def sessions_of(schedule: dict, treatment="microneedling") -> pd.DataFrame:
    """Sessions from {patient: [day offsets from 2024-01-01]}."""
    rows = [(p, D0 + pd.Timedelta(days=int(d))) for p, days in schedule.items() for d in days]
    df = pd.DataFrame(rows, columns=["patient_id", "date"])
    df["treatment"] = pd.Categorical([treatment] * len(df))
    return df


def window(pid, start, end):
    return pd.DataFrame({"patient_id": [pid], "start": [D0 + pd.Timedelta(days=start)],
                         "end": [D0 + pd.Timedelta(days=end)]})


def one(schedule_days, start=0, end=182, **kw):
    """patient_metrics of one patient "p" over [start, end) (days since 2024-01-01), as a dict."""
    out = patient_metrics(sessions_of({"p": schedule_days}), windows=window("p", start, end), **kw)
    assert len(out) == 1
    return out.iloc[0].to_dict()


class TestHandComputed:
    def test_perfectly_monthly(self):
        # six sessions every 28 days: days 0, 28, 56, 84, 112, 140; window [0, 182)
        r = one([0, 28, 56, 84, 112, 140])
        assert r["n_sessions"] == 6
        assert r["window_days"] == 182
        assert r["sessions_per_month"] == pytest.approx(6 * 30.4375 / 182)  # 1.003434
        assert r["mean_gap"] == 28 and r["median_gap"] == 28
        assert r["interval_cv"] == 0 and pd.isna(r["cv_note"])
        assert r["tail_gap"] == 42 and r["longest_gap"] == 42  # 182 − 140
        assert r["lapses"] == 0
        # supply: [0,30) [30,60) [60,90) [90,120) [120,150) [150,180) → 180 of 182 days
        assert r["coverage"] == pytest.approx(180 / 182)
        assert r["regular"]
        # 28-day gaps after sessions 1, 2 are on time (loading 28 ± 7); after 3, 4, 5 the
        # protocol wants 91 ± 21 → off-schedule; tail 42 < 91 + 21 → nothing missed: 2 / 5
        assert (r["n_due"], r["n_on_time"], r["n_missed"]) == (5, 2, 0)
        assert r["adherence"] == pytest.approx(0.4)
        assert r["phase_reached"] == "maintenance"
        assert r["days_to_complete_loading"] == 56

    def test_on_protocol(self):
        # 3 loading sessions 28 days apart, then every 91 days: 0, 28, 56, 147, 238; window [0, 300)
        r = one([0, 28, 56, 147, 238], end=300)
        # gaps 28, 28, 91, 91: mean 59.5, median (28 + 91) / 2 = 59.5
        assert r["mean_gap"] == 59.5 and r["median_gap"] == 59.5
        # sample SD: deviations ±31.5 → Σ = 4 × 992.25 = 3969, / (4 − 1) = 1323 → CV = √1323 / 59.5
        assert r["interval_cv"] == pytest.approx(0.611312049730192)
        assert r["lapses"] == 2  # the two 91-day gaps exceed 45
        assert r["longest_gap"] == 91 and r["tail_gap"] == 62
        # supply: [0,30) [30,60) [60,90) [147,177) [238,268) = 150 days of 300
        assert r["coverage"] == pytest.approx(0.5)
        assert not r["regular"]
        assert (r["n_due"], r["n_on_time"], r["n_missed"]) == (4, 4, 0)
        assert r["adherence"] == 1.0

    def test_bunched(self):
        # four sessions a week apart, then nothing: 0, 7, 14, 21; window [0, 182)
        r = one([0, 7, 14, 21])
        assert r["sessions_per_month"] == pytest.approx(4 * 30.4375 / 182)  # 0.668956
        assert r["mean_gap"] == 7 and r["interval_cv"] == 0
        assert r["tail_gap"] == 161 and r["longest_gap"] == 161
        # carried forward: [0,30) [30,60) [60,90) [90,120) = 120 of 182 days
        assert r["coverage"] == pytest.approx(120 / 182)
        # every 7-day gap is off-schedule; tail 161 after the 4th session (maintenance 91 ± 21):
        # due at 91, closes at 112 < 182 → 1 missed; next due 182 not closed: due = 3 + 1
        assert (r["n_due"], r["n_on_time"], r["n_missed"]) == (4, 0, 1)
        assert r["adherence"] == 0.0
        assert r["days_to_complete_loading"] == 14

    def test_lapsed(self):
        # 0, 28, then a 92-day lapse to 120; window [0, 182)
        r = one([0, 28, 120])
        assert r["mean_gap"] == 60 and r["median_gap"] == 60
        # gaps 28, 92: deviations ±32 → SD = √(2 × 1024 / 1) = 45.2548 → CV = 45.2548 / 60
        assert r["interval_cv"] == pytest.approx(0.7542472332656508)
        assert r["lapses"] == 1
        assert r["longest_gap"] == 92 and r["tail_gap"] == 62
        assert r["coverage"] == pytest.approx(90 / 182)  # [0,30) [30,60) [120,150)
        # gap 28 on time; gap 92 after session 2 (loading 28 ± 7): due at +28, +56, +84 all close
        # (at +35, +63, +91) before +92 → 3 missed, next due +112, session at +92 is early (off);
        # tail 62 after session 3 (maintenance): nothing missed. 1 on time of 2 + 3 due
        assert (r["n_due"], r["n_on_time"], r["n_missed"]) == (5, 1, 3)
        assert r["adherence"] == pytest.approx(0.2)
        assert r["days_to_complete_loading"] == 120

    def test_single_session(self):
        r = one([0])
        assert r["n_sessions"] == 1
        assert r["sessions_per_month"] == pytest.approx(30.4375 / 182)
        assert math.isnan(r["mean_gap"]) and math.isnan(r["median_gap"])
        assert math.isnan(r["interval_cv"]) and "1 session" in r["cv_note"]
        assert r["longest_gap"] == 182 and r["lapses"] == 0
        assert r["coverage"] == pytest.approx(30 / 182)
        # still loading: due at 28, 56, …, 168 (closing at 175 ≤ 181) → 6 missed, 0 on time
        assert (r["n_due"], r["n_on_time"], r["n_missed"]) == (6, 0, 6)
        assert r["phase_reached"] == "loading"
        assert math.isnan(r["days_to_complete_loading"])

    def test_same_day_double_entry_counts_once(self):
        s = sessions_of({"p": [0, 0, 28, 28, 56]})
        s.loc[1, "treatment"] = "microneedling"
        r = patient_metrics(s, windows=window("p", 0, 182)).iloc[0]
        assert r["n_sessions"] == 3
        assert r["mean_gap"] == 28 and r["interval_cv"] == 0
        assert r["days_to_complete_loading"] == 56

    def test_two_sessions_cv_missing_with_reason(self):
        r = one([0, 30])
        assert math.isnan(r["interval_cv"]) and r["cv_note"].startswith("2 sessions")
        assert r["mean_gap"] == 30

    def test_window_bounds_half_open_and_head_gap(self):
        # window [0, 100): day −1 and day 100 are outside; sessions 60, 70, 80 → head 60 longest
        r = one([-1, 60, 70, 80, 100], start=0, end=100)
        assert r["n_sessions"] == 3
        assert r["first_session"] == D0 + pd.Timedelta(days=60)
        assert r["last_session"] == D0 + pd.Timedelta(days=80)
        assert r["longest_gap"] == 60 and r["tail_gap"] == 20

    def test_window_without_sessions(self):
        s = sessions_of({"p": [0, 28]})
        w = pd.concat([window("p", 0, 100), window("q", 0, 50)], ignore_index=True)
        out = patient_metrics(s, windows=w)
        assert out["patient_id"].tolist() == ["p", "q"]
        q = out.iloc[1]
        assert q["n_sessions"] == 0 and q["sessions_per_month"] == 0
        assert q["longest_gap"] == 50 and q["coverage"] == 0
        assert pd.isna(q["first_session"]) and math.isnan(q["adherence"])
        assert q["phase_reached"] == "none" and q["cv_note"] == "no sessions in the window"

    def test_default_window_runs_to_data_end(self):
        s = sessions_of({"a": [0, 28, 56], "b": [10]})
        out = patient_metrics(s)  # data end = day 56 → windows end on day 57
        assert out["patient_id"].tolist() == ["a", "b"]
        assert out["window_days"].tolist() == [57, 47]
        assert out["tail_gap"].tolist() == [1, 47]
        out = patient_metrics(s, data_end=D0 + pd.Timedelta(days=99))
        assert out["window_days"].tolist() == [100, 90]
        # a data end before some sessions drops them
        out = patient_metrics(s, data_end=D0 + pd.Timedelta(days=30))
        assert out.loc[out.patient_id == "a", "n_sessions"].item() == 2

    def test_custom_protocol_and_cover_days(self):
        # weekly protocol: 2 loading sessions 7 ± 1 apart, maintenance 14 ± 2
        p = Protocol(loading_sessions=2, loading_interval=7, loading_tolerance=1,
                     maintenance_interval=14, maintenance_tolerance=2)
        r = one([0, 7, 21, 35], end=40, protocol=p, cover_days=7)
        assert (r["n_due"], r["n_on_time"], r["adherence"]) == (3, 3, 1.0)
        # [0,7) [7,14) [21,28) [35,40) = 7 + 7 + 7 + 5 = 26 of 40 days
        assert r["coverage"] == pytest.approx(26 / 40)
        assert r["days_to_complete_loading"] == 7

    def test_datetime_unit_is_kept(self):
        s = sessions_of({"p": [0, 28, 56]})
        s["date"] = s["date"].astype("datetime64[ns]")
        out = patient_metrics(s)
        assert out["first_session"].dtype == "datetime64[ns]"
        assert out["n_sessions"].item() == 3


class TestErrors:
    def test_missing_column(self):
        with pytest.raises(RecordsError, match="date"):
            patient_metrics(pd.DataFrame({"patient_id": ["a"]}))

    def test_missing_date(self):
        s = sessions_of({"a": [0, 1]})
        s.loc[0, "date"] = pd.NaT
        with pytest.raises(RecordsError, match="missing `date`"):
            patient_metrics(s)

    def test_bad_windows(self):
        s = sessions_of({"a": [0, 1]})
        with pytest.raises(RecordsError, match="more than once"):
            patient_metrics(s, windows=pd.concat([window("a", 0, 9)] * 2))
        with pytest.raises(RecordsError, match="not after"):
            patient_metrics(s, windows=window("a", 9, 9))

    def test_bad_options(self):
        s = sessions_of({"a": [0, 1]})
        with pytest.raises(ValueError, match="`permissible_gap` must be"):
            patient_metrics(s, permissible_gap=0)
        with pytest.raises(ValueError, match="`loading_tolerance` must be"):
            Protocol(loading_tolerance=28)
        with pytest.raises(ValueError, match="`treatments` must be among"):
            patient_metrics(s, treatments="microneedeling")


class TestTreatmentFilter:
    def frame(self):
        s = sessions_of({"a": [0, 28, 56], "b": [5]})
        h = sessions_of({"a": [14], "c": [3, 40]}, treatment="hydrafacial")
        s = pd.concat([s, h], ignore_index=True)
        s["treatment"] = s["treatment"].astype("category")
        return s

    def test_filter_on_every_function(self):
        s = self.frame()
        m = patient_metrics(s, treatments="MicroNeedling")
        assert m["patient_id"].tolist() == ["a", "b"]
        assert m["n_sessions"].tolist() == [3, 1]
        # the data end stays the last date of the whole table (day 56)
        assert m["window_days"].tolist() == [57, 52]
        h = patient_metrics(s, treatments=["hydrafacial"])
        assert h["patient_id"].tolist() == ["a", "c"] and h["n_sessions"].tolist() == [1, 2]
        both = patient_metrics(s, treatments=["hydrafacial", "microneedling"])
        assert both["n_sessions"].tolist() == [4, 1, 2]
        p = persistence(s, treatments="hydrafacial")
        assert p["patient_id"].tolist() == ["a", "c"]
        a = pd.DataFrame({"patient_id": ["a"], "date": [D0 + pd.Timedelta(days=20)]})
        assert exposure_at(a, s, treatments="hydrafacial")["sessions_before"].item() == 1
        assert exposure_at(a, s, treatments="microneedling")["sessions_before"].item() == 1
        assert exposure_at(a, s)["sessions_before"].item() == 2

    def test_plain_string_column(self):
        s = self.frame()
        s["treatment"] = s["treatment"].astype("str").str.upper()
        assert patient_metrics(s, treatments="hydrafacial")["n_sessions"].tolist() == [1, 2]


class TestExposureAt:
    def test_hand_computed(self):
        s = sessions_of({"p": [0, 28, 56, 200], "q": [10]})
        days = [-5, 0, 28, 29, 146, 150, 300]
        a = pd.DataFrame({"patient_id": ["p"] * 7 + ["zz"],
                          "date": [D0 + pd.Timedelta(days=d) for d in days + [0]]},
                         index=[10, 11, 12, 13, 14, 15, 16, 17])
        e = exposure_at(a, s)
        assert e.index.tolist() == a.index.tolist()
        # an assessment on a session day precedes it: day 0 → 0 before, day 28 → 1 before
        assert e["sessions_before"].tolist() == [0, 0, 1, 2, 3, 3, 4, 0]
        assert e["days_since_last"].tolist()[2:7] == [28, 1, 90, 94, 100]
        assert e["days_since_last"].isna().tolist()[:2] == [True, True]
        # 90 days back inclusive: day 146 counts day 56 (146 − 90 = 56), day 150 does not
        assert e["sessions_prev_90d"].tolist() == [0, 0, 1, 2, 1, 0, 0, 0]
        assert e["days_since_t0"].tolist()[:7] == [-5, 0, 28, 29, 146, 150, 300]
        assert pd.isna(e["t0"].iloc[7]) and math.isnan(e["days_since_t0"].iloc[7])
        assert (e["t0"].iloc[:7] == D0).all()


    def test_without_sessions_and_numeric_ids(self):
        a = pd.DataFrame({"patient_id": ["1", "2"], "date": [D0, D0 + pd.Timedelta(days=40)]})
        s = pd.DataFrame({"patient_id": [1, 1], "date": [D0, D0 + pd.Timedelta(days=9)],
                          "treatment": ["microneedling", "hydrafacial"]})
        e = exposure_at(a, s)
        assert e["sessions_before"].tolist() == [0, 0] and e["t0"].iloc[0] == D0
        assert math.isnan(e["days_since_t0"].iloc[1])
        e = exposure_at(a, s.iloc[:0])
        assert e["sessions_before"].tolist() == [0, 0] and e["t0"].isna().all()


def test_summarise_hand_computed():
    s = sessions_of({"a": [0, 28, 56], "b": [10]})
    m = patient_metrics(s, data_end=D0 + pd.Timedelta(days=99))
    out = summarise(m).set_index("metric")
    # n_sessions 3 and 1: mean 2, sample SD √2, quartiles 1.5 / 2 / 2.5 (linear interpolation)
    row = out.loc["n_sessions"]
    assert (row["n"], row["mean"], row["q1"], row["median"], row["q3"]) == (2, 2, 1.5, 2, 2.5)
    assert row["sd"] == pytest.approx(math.sqrt(2))
    assert out.loc["interval_cv", "n"] == 1  # b has one session: no CV
    by = summarise(m, by="phase_reached")
    assert by.loc[by.metric == "n_sessions", "phase_reached"].tolist() == ["loading",
                                                                          "maintenance"]
    with pytest.raises(ValueError, match="`by` must be one of"):
        summarise(m, by="clinic")


class TestPersistence:
    def test_hand_computed(self):
        s = sessions_of({"a": [0, 30, 60], "b": [0, 50], "c": [0, 20], "d": [80],
                         "e": [0, 30, 55], "f": [0, 30, 56]})
        p = persistence(s, data_end=D0 + pd.Timedelta(days=100)).set_index("patient_id")
        # a: gaps 30, 30, tail 101 − 60 = 41 ≤ 45 → censored at 101 days observed
        # b: gap 50 > 45 → event at 0 + 45
        # c: tail 101 − 20 = 81 > 45 → event at 20 + 45 = 65
        # d: one session, tail 21 → censored, time 101 − 80 = 21
        # e: tail 101 − 55 = 46 > 45 → event at 55 + 45 = 100 (day 100 observed, no session)
        # f: tail 45 → censored (a session on day 101 would still be within 45 days)
        assert p["time_days"].to_dict() == {"a": 101, "b": 45, "c": 65, "d": 21, "e": 100,
                                            "f": 101}
        assert p["event"].to_dict() == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 1, "f": 0}
        assert p.loc["b", "n_persistent"] == 1 and p.loc["a", "n_persistent"] == 3
        assert p.loc["c", "discontinued_on"] == D0 + pd.Timedelta(days=65)
        assert pd.isna(p.loc["a", "discontinued_on"])

    def test_km_against_hand_computation(self):
        # times 1, 2, 2+, 3, 5+: S(1) = 4/5, S(2) = 0.8 × 3/4 = 0.6, S(3) = 0.6 × 1/2 = 0.3
        table = pd.DataFrame({"time_days": [1, 2, 2, 3, 5], "event": [1, 1, 0, 1, 0]})
        km = persistence_curve(table)
        assert km["time"].tolist() == [0, 1, 2, 3]
        assert km["survival"].tolist() == pytest.approx([1, 0.8, 0.6, 0.3])
        assert km["at_risk"].tolist() == [5, 5, 4, 2]
        assert km["events"].tolist() == [0, 1, 1, 1]
        # Greenwood V = 1/(5·4) = 0.05; + 1/(4·3); + 1/(2·1) → log-log band S^exp(∓1.96 √V/|ln S|)
        # (the same as R: survfit(Surv(t, e) ~ 1, conf.type = "log-log"))
        assert km["ci_low"].tolist()[1:] == pytest.approx(
            [0.20380926326763904, 0.1257301829944314, 0.012301529425416081])
        assert km["ci_high"].tolist()[1:] == pytest.approx(
            [0.9691797888667427, 0.8817564073935322, 0.719218020810415])

    def test_curve_from_sessions(self):
        s = sessions_of({"a": [0, 30, 60], "b": [0, 50], "c": [0, 20]})
        km = persistence_curve(s, data_end=D0 + pd.Timedelta(days=100))
        # events at 45 (b) and 65 (c), a censored at 101: S = 2/3 then 1/3
        assert km["time"].tolist() == [0, 45, 65]
        assert km["survival"].tolist() == pytest.approx([1, 2 / 3, 1 / 3])


# ------------------------------------------------------------------------------------------------
# a slow, obviously-correct reference (loops, day by day) to compare with on random data
# ------------------------------------------------------------------------------------------------

DEFAULT = Protocol()


def reference(days, start, end, gap_max=45, cover=30, proto=DEFAULT):
    s = sorted({d for d in days if start <= d < end})
    n = len(s)
    g = np.diff(s)
    covered, supply_end = set(), -10**9
    for d in s:
        c0 = max(d, supply_end)
        supply_end = c0 + cover
        covered |= {x for x in range(c0, supply_end) if start <= x < end}
    on_time = missed = 0
    for k in range(1, n + 1):  # walk the protocol clock after the k-th session
        e, t = ((proto.loading_interval, proto.loading_tolerance) if k < proto.loading_sessions
                else (proto.maintenance_interval, proto.maintenance_tolerance))
        nxt = s[k] if k < n else None
        due = s[k - 1] + e
        while due + t < (nxt if nxt is not None else end):
            missed += 1
            due += e
        if nxt is not None and abs(nxt - due) <= t:
            on_time += 1
    n_due = max(n - 1, 0) + missed
    return {
        "n_sessions": n,
        "mean_gap": g.mean() if n > 1 else np.nan,
        "median_gap": float(np.median(g)) if n > 1 else np.nan,
        "interval_cv": g.std(ddof=1) / g.mean() if n >= 3 else np.nan,
        "longest_gap": max([s[0] - start, *g, end - s[-1]]) if n else end - start,
        "lapses": int((g > gap_max).sum()),
        "coverage": len(covered) / (end - start),
        "n_on_time": on_time,
        "n_due": n_due,
    }


patients = st.dictionaries(st.sampled_from("abcdef"),
                           st.lists(st.integers(0, 400), min_size=1, max_size=12), min_size=1)


class TestProperties:
    @FEW
    @given(patients, st.integers(0, 200), st.integers(1, 400))
    def test_matches_reference(self, schedule, start, length):
        w = pd.concat([window(p, start, start + length) for p in sorted(schedule)],
                      ignore_index=True)
        out = patient_metrics(sessions_of(schedule), windows=w).set_index("patient_id")
        for p, days in schedule.items():
            ref = reference(days, start, start + length)
            got = out.loc[p]
            for k, v in ref.items():
                assert got[k] == pytest.approx(v, nan_ok=True), (p, k)

    @FEW
    @given(patients, st.integers(1, 60))
    def test_coverage_in_unit_interval(self, schedule, cover):
        m = patient_metrics(sessions_of(schedule), cover_days=cover)
        assert ((m["coverage"] >= 0) & (m["coverage"] <= 1)).all()

    @FEW
    @given(patients, st.randoms(use_true_random=False), st.integers(-3000, 3000))
    def test_invariant_to_row_order_and_date_shift(self, schedule, rnd, shift):
        s = sessions_of(schedule)
        base = patient_metrics(s)
        rows = list(range(len(s)))
        rnd.shuffle(rows)
        moved = s.iloc[rows].assign(date=s["date"].iloc[rows] + pd.Timedelta(days=shift))
        other = patient_metrics(moved)
        dates = ["start", "end", "first_session", "last_session"]
        pd.testing.assert_frame_equal(base.drop(columns=dates), other.drop(columns=dates))
        for c in dates:
            assert ((other[c] - base[c]).dt.days == shift).all()

    @FEW
    @given(st.lists(st.integers(1, 60), min_size=2, max_size=10), st.integers(2, 5))
    def test_cv_unchanged_when_gaps_scaled(self, gaps, k):
        def cv(gs):
            days = np.concatenate([[0], np.cumsum(gs)])
            return patient_metrics(sessions_of({"p": days}))["interval_cv"].item()
        assert cv(np.array(gaps) * k) == pytest.approx(cv(gaps), abs=1e-12)

    @FEW
    @given(patients, st.sampled_from("abcxyz"), st.integers(0, 400))
    def test_adding_a_session_never_lowers_n_sessions(self, schedule, who, day):
        end = D0 + pd.Timedelta(days=400)
        before = patient_metrics(sessions_of(schedule), data_end=end).set_index("patient_id")
        more = {**schedule, who: [*schedule.get(who, []), day]}
        after = patient_metrics(sessions_of(more), data_end=end).set_index("patient_id")
        joined = after["n_sessions"].reindex(before.index)
        assert (joined >= before["n_sessions"]).all()
        assert after["n_sessions"].sum() >= before["n_sessions"].sum()

    @FEW
    @given(patients, st.lists(st.tuples(st.sampled_from("abcz"), st.integers(-50, 450)),
                              min_size=1, max_size=15))
    def test_exposure_counts_only_earlier_sessions(self, schedule, marks):
        s = sessions_of(schedule)
        a = pd.DataFrame({"patient_id": [m[0] for m in marks],
                          "date": [D0 + pd.Timedelta(days=m[1]) for m in marks]})
        e = exposure_at(a, s)
        for (p, d), (_, row) in zip(marks, e.iterrows(), strict=True):
            days = sorted(set(schedule.get(p, [])))
            earlier = [x for x in days if x < d]
            assert row["sessions_before"] == len(earlier)
            assert row["sessions_prev_90d"] == len([x for x in earlier if x >= d - 90])
            expected_last = d - earlier[-1] if earlier else np.nan
            assert row["days_since_last"] == pytest.approx(expected_last, nan_ok=True)

    @FEW
    @given(patients, st.integers(20, 90))
    def test_persistence_time_within_follow_up(self, schedule, gap):
        s = sessions_of(schedule)
        p = persistence(s, permissible_gap=gap)
        end = max(d for v in schedule.values() for d in v) + 1
        t0 = pd.Series({k: min(v) for k, v in schedule.items()})
        follow = (end - t0).reindex(p["patient_id"]).to_numpy()
        assert (p["time_days"].to_numpy() <= follow).all()
        assert (p.loc[p.event == 0, "time_days"].to_numpy()
                == follow[p.event.to_numpy() == 0]).all()


def test_sessions_per_month_unit():
    assert DAYS_PER_MONTH == 365.25 / 12
