"""Baseline, landmark, improvement and exclusions (outcomes.tables.ratings) on hand-made records."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from outcomes import Analysis, Settings
from outcomes.errors import RecordsError, SettingError
from outcomes.records import from_frames
from outcomes.records.scales import Measure, default_measures
from outcomes.tables.ratings import exclusions, landmark_ratings


def _sessions(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "date", "treatment"])
    return df.assign(depth_mm=1.0, areas="face", clinician_id="c1")


def _assessments(rows, columns=("patient_id", "date", "pore")):
    return pd.DataFrame(rows, columns=list(columns))


@pytest.fixture
def records():
    """Eight patients, each built to exercise one rule (dates worked out in the comments)."""
    sessions = _sessions([
        # p1: t0 2024-01-10; target t0 + 182 = 2024-07-10
        ("p1", "2024-01-10", "microneedling"), ("p1", "2024-02-07", "microneedling"),
        ("p1", "2024-03-06", "microneedling"), ("p1", "2024-04-03", "hydrafacial"),
        # p2, p3, p4: t0 2024-02-01; target 2024-08-01
        ("p2", "2024-02-01", "microneedling"), ("p2", "2024-03-01", "microneedling"),
        ("p3", "2024-02-01", "microneedling"),
        ("p4", "2024-02-01", "microneedling"),
        ("p6", "2024-02-01", "microneedling"),
        # p8: t0 2024-03-01; target 2024-08-30
        ("p8", "2024-03-01", "microneedling"),
    ])
    assessments = pd.DataFrame([
        # p1: 2023-12-01 is 40 days before t0 (outside the 30-day baseline window); 2023-12-20
        # is inside but 2024-01-10 (the t0 day, taken before the session) is the latest -> 3.5.
        # 2024-06-10 and 2024-08-09 are both 30 days from the target: tie -> the earlier, 2.5.
        ("p1", "2023-12-01", "face", "clinician", 2.0, 2.0),
        ("p1", "2023-12-20", "face", "clinician", 3.0, 3.0),
        ("p1", "2024-01-10", "face", "clinician", 3.5, 3.0),
        ("p1", "2024-06-10", "face", "clinician", 2.5, 2.0),
        ("p1", "2024-08-09", "face", "clinician", 1.5, 1.0),
        # p2: baseline exactly t0 - 30 (inside), landmark exactly target + 45 (inside)
        ("p2", "2024-01-02", "face", "clinician", 3.0, 3.0),
        ("p2", "2024-09-15", "face", "clinician", 2.5, 2.5),
        # p3: baseline t0 - 31 (outside) -> no baseline
        ("p3", "2024-01-01", "face", "clinician", 3.0, 3.0),
        ("p3", "2024-08-01", "face", "clinician", 2.0, 2.0),
        # p4: landmark candidates target - 46 and target + 46 (outside) -> no landmark
        ("p4", "2024-02-01", "face", "clinician", 3.0, 3.0),
        ("p4", "2024-06-16", "face", "clinician", 2.0, 2.0),
        ("p4", "2024-09-16", "face", "clinician", 2.0, 2.0),
        # p5: ratings but no session
        ("p5", "2024-02-01", "face", "clinician", 3.0, 3.0),
        # p6: only a texture rating -> no rating of pore
        ("p6", "2024-02-01", "face", "clinician", np.nan, 3.0),
        # p8: two face/clinician ratings on the baseline day are averaged (3.0, 4.0 -> 3.5); the
        # nose and patient ratings on the landmark day are not primary and must be ignored.
        ("p8", "2024-03-01", "face", "clinician", 3.0, 3.0),
        ("p8", "2024-03-01", "face", "clinician", 4.0, 3.0),
        ("p8", "2024-08-30", "face", "clinician", 1.0, 1.0),
        ("p8", "2024-08-30", "nose", "clinician", 4.0, 4.0),
        ("p8", "2024-08-30", "face", "patient", 4.0, 4.0),
    ], columns=["patient_id", "date", "region", "rater", "pore", "texture"])
    patients = pd.DataFrame({"patient_id": [f"p{i}" for i in range(1, 9)]})  # p7: no data at all
    return from_frames(sessions, assessments, patients)


def _row(table, pid):
    return table.set_index("patient_id").loc[pid]


class TestLandmarkRatings:
    def test_statuses(self, records):
        table = Analysis(records, measure="pore").ratings
        assert table["patient_id"].tolist() == [f"p{i}" for i in range(1, 9)]
        assert table.set_index("patient_id")["status"].to_dict() == {
            "p1": "included", "p2": "included", "p3": "no baseline",
            "p4": "no landmark in window", "p5": "no session", "p6": "no rating",
            "p7": "no session", "p8": "included"}

    def test_baseline_on_t0_day_and_landmark_tie_goes_to_earlier(self, records):
        p1 = _row(Analysis(records, measure="pore").ratings, "p1")
        assert p1["t0"] == pd.Timestamp("2024-01-10")
        assert p1["baseline_date"] == pd.Timestamp("2024-01-10") and p1["baseline"] == 3.5
        assert p1["landmark_date"] == pd.Timestamp("2024-06-10") and p1["landmark"] == 2.5
        assert p1["improvement"] == 1.0 and bool(p1["responder"]) is True
        assert p1["followup_days"] == 152

    def test_window_edges_are_inclusive(self, records):
        p2 = _row(Analysis(records, measure="pore").ratings, "p2")
        assert p2["baseline_date"] == pd.Timestamp("2024-01-02")   # t0 - 30
        assert p2["landmark_date"] == pd.Timestamp("2024-09-15")   # target + 45
        assert p2["improvement"] == 0.5 and bool(p2["responder"]) is False

    def test_values_kept_for_excluded_patients(self, records):
        table = Analysis(records, measure="pore").ratings
        assert _row(table, "p4")["baseline"] == 3.0
        assert np.isnan(_row(table, "p4")["improvement"])
        assert pd.isna(_row(table, "p4")["responder"])
        assert _row(table, "p3")["landmark"] == 2.0

    def test_same_day_ratings_averaged_and_other_raters_ignored(self, records):
        p8 = _row(Analysis(records, measure="pore").ratings, "p8")
        assert p8["baseline"] == 3.5 and p8["landmark"] == 1.0 and p8["improvement"] == 2.5

    def test_other_region_on_request(self, records):
        table = Analysis(records, measure="pore", region="nose").ratings
        assert _row(table, "p8")["status"] == "no baseline"   # a nose rating, at the landmark only
        assert _row(table, "p1")["status"] == "no rating"
        assert (table["status"] != "included").all()

    def test_wider_baseline_window(self, records):
        table = Analysis(records, measure="pore", baseline_days=31).ratings
        assert _row(table, "p3")["status"] == "included"
        assert _row(table, "p3")["improvement"] == 1.0

    def test_treatment_filter_moves_t0(self, records):
        table = Analysis(records, measure="pore", treatments="hydrafacial").ratings
        p1 = _row(table, "p1")
        assert p1["t0"] == pd.Timestamp("2024-04-03") and p1["status"] == "no baseline"
        assert _row(table, "p2")["status"] == "no session"

    def test_unknown_treatment_is_an_error_naming_the_options(self, records):
        with pytest.raises(SettingError, match=r"\['hydrafacial', 'microneedling'\].*'laser'"):
            _ = Analysis(records, measure="pore", treatments=["laser"]).ratings

    def test_unknown_measure_region_rater(self, records):
        with pytest.raises(SettingError, match="`measure` must be one of"):
            _ = Analysis(records, measure="redness").ratings
        with pytest.raises(SettingError, match="`region` must be one of"):
            _ = Analysis(records, measure="pore", region="neck").ratings
        with pytest.raises(SettingError, match="`rater` must be one of"):
            _ = Analysis(records, measure="pore", rater="robot").ratings

    def test_custom_mic(self, records):
        table = landmark_ratings(records, Settings(measure="pore"), mic=0.5)
        assert bool(_row(table, "p2")["responder"]) is True

    def test_higher_is_better_device_score(self):
        measures = default_measures() | {
            "pore_score": Measure("pore_score", "Pore score (device)", 0, 100, "higher")}
        sessions = _sessions([("d1", "2024-01-10", "microneedling"),
                              ("d2", "2024-01-10", "microneedling")])
        assessments = pd.DataFrame({
            "patient_id": ["d1", "d1", "d2", "d2"],
            "date": ["2024-01-09", "2024-07-10", "2024-01-10", "2024-07-12"],
            "rater": "device", "pore_score": [40.0, 55.0, 60.0, 52.0]})
        records = from_frames(sessions, assessments, measures=measures)
        table = Analysis(records, measure="pore_score", rater="device").ratings.set_index("patient_id")
        assert table.loc["d1", "improvement"] == 15.0    # landmark - baseline
        assert table.loc["d2", "improvement"] == -8.0
        # default mic: 10 % of the 0–100 range = 10 points
        assert table["responder"].tolist() == [True, False]


class TestExclusions:
    def test_counts_by_reason_in_order(self, records):
        out = exclusions(Analysis(records, measure="pore").ratings)
        assert out.to_dict(orient="list") == {
            "reason": ["no session", "no rating", "no baseline", "no landmark in window"],
            "n": [2, 1, 1, 1]}

    def test_every_patient_accounted_for(self, records):
        table = Analysis(records, measure="pore").ratings
        assert (table["status"] == "included").sum() + exclusions(table)["n"].sum() == 8

    def test_needs_status(self):
        with pytest.raises(RecordsError, match="status"):
            exclusions(pd.DataFrame({"x": [1]}))


def _brute_force(t0, dates, values, L, W, B):
    """Reference: plain loops over one patient's ratings (day numbers)."""
    base = [(d, v) for d, v in zip(dates, values) if t0 - B <= d <= t0]
    base = max(base)[1] if base else None        # latest (one rating per day here)
    cands = [(abs(d - (t0 + L)), d, v) for d, v in zip(dates, values)
             if abs(d - (t0 + L)) <= W and d > t0]
    land = min(cands)[2] if cands else None      # closest, then earlier
    return base, land


@settings(max_examples=40, deadline=None)
@given(days=st.lists(st.integers(-60, 260), min_size=1, max_size=8, unique=True),
       L=st.integers(20, 200), W=st.integers(0, 60), B=st.integers(0, 40))
def test_matches_brute_force(days, L, W, B):
    """The vectorised selection equals a loop-by-loop reading of the definitions (for every
    window below the landmark: a wider one is refused as a setting)."""
    assume(W < L)
    t0 = pd.Timestamp("2024-03-01")
    values = [float(i % 9) / 2 for i in range(len(days))]
    sessions = _sessions([("x", t0, "microneedling")])
    assessments = pd.DataFrame({"patient_id": "x",
                                "date": [t0 + pd.Timedelta(days=d) for d in days],
                                "pore": values})
    records = from_frames(sessions, assessments)
    row = Analysis(records, measure="pore", landmark_days=L, window_days=W, baseline_days=B).ratings.iloc[0]
    base, land = _brute_force(0, days, values, L, W, B)
    assert (row["baseline"] if pd.notna(row["baseline"]) else None) == base
    assert (row["landmark"] if pd.notna(row["landmark"]) else None) == land
    expected = "no baseline" if base is None else (
        "no landmark in window" if land is None else "included")
    assert row["status"] == expected


def test_a_rater_without_ratings_excludes_everyone_with_a_reason():
    """A rater who rated nobody is not an error: every patient is counted as 'no rating'."""
    from outcomes.synthetic import simulate

    records = simulate(40, seed=3).to_records()
    table = Analysis(records, measure="pore", rater="device").ratings
    assert len(table) == records.patients["patient_id"].nunique()
    assert set(table["status"]) <= {"no rating", "no session"}
    assert (table["status"] == "no rating").sum() > 0


class TestScaleWords:
    def test_default_grades(self):
        m = default_measures()["pore"]
        assert m.unit == "grades"
        assert m.scale_words() == ("grades on the 0–4 scale, lower is better; a change of 1 grade "
                                   "(e.g. moderate → mild) is the change patients notice")

    def test_device_score_and_declared_levels(self, tmp_path):
        from outcomes.records.scales import read_scales

        (tmp_path / "dataset.toml").write_text(
            "[measures.score]\nlabel = 'Device'\nmin = 0\nmax = 100\nbetter = 'higher'\n"
            "[measures.glow]\nlabel = 'Glow'\nmin = 1\nmax = 5\nbetter = 'higher'\nstep = 1\n"
            "levels = ['very poor', 'poor', 'fair', 'good', 'very good']\n"
            "[measures.pore]\nmin = 0\nmax = 10\n", encoding="utf-8")
        m = read_scales(tmp_path / "dataset.toml")
        assert m["score"].scale_words().startswith("points on the 0–100 scale, higher is better;"
                                                   " a change of 10 points is")
        assert "(e.g. fair → good)" in m["glow"].scale_words()
        assert m["pore"].levels is None          # the default names fit the 0–4 range only

    def test_levels_must_name_each_whole_grade(self, tmp_path):
        from outcomes.records.scales import read_scales

        (tmp_path / "dataset.toml").write_text(
            "[measures.glow]\nmin = 1\nmax = 5\nstep = 1\nlevels = ['poor', 'good']\n",
            encoding="utf-8")
        with pytest.raises(RecordsError, match=r"dataset.toml: \[measures.glow\].*5 names"):
            read_scales(tmp_path / "dataset.toml")
