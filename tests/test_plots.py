"""Plots: smoke tests that check what is drawn (number of points, lines, labels)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from outcomes.present.plots import (
    adherence_plot,
    consistency_distribution,
    frequency_distribution,
    patient_timelines,
    persistence_plot,
)
from outcomes.tables.attendance import patient_metrics
from outcomes.tables.persistence import persistence_curve

D0 = pd.Timestamp("2024-01-01")


@pytest.fixture
def clinic(rng):
    """30 patients, 1–8 sessions each (some same-day double entries), and 2 assessments each."""
    rows = []
    for i in range(30):
        k = int(rng.integers(1, 9))
        days = np.sort(rng.integers(0, 300, k))
        days = np.append(days, days[0])  # a same-day double entry for everyone
        for d in days:
            rows.append((f"P{i:02d}", D0 + pd.Timedelta(days=int(d)),
                         "microneedling" if rng.random() < 0.7 else "hydrafacial"))
    s = pd.DataFrame(rows, columns=["patient_id", "date", "treatment"])
    s["treatment"] = s["treatment"].astype("category")
    first = s.groupby("patient_id")["date"].min()
    a = pd.DataFrame({"patient_id": np.repeat(first.index.to_numpy(), 2),
                      "date": np.repeat(first.to_numpy(), 2)
                      + np.tile(np.array([0, 150], dtype="timedelta64[D]"), len(first))})
    return s, a


def n_points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections
               if isinstance(c, plt.matplotlib.collections.PathCollection))


class TestPatientTimelines:
    def test_all_patients_one_dot_per_session_day(self, clinic):
        s, _ = clinic
        ax = patient_timelines(s, n=100)
        assert isinstance(ax, plt.Axes)
        distinct_days = s.drop_duplicates(["patient_id", "date"]).shape[0]
        assert n_points(ax) == distinct_days
        assert len(ax.get_yticklabels()) == 30

    def test_sample_sorted_by_frequency_with_assessments(self, clinic):
        s, a = clinic
        ax = patient_timelines(s, a, n=10, seed=3)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == 10
        m = patient_metrics(s).set_index("patient_id").loc[labels]
        # top row (y = 0) is the most frequent patient
        assert (np.diff(m["sessions_per_month"].to_numpy()) <= 0).all()
        shown = s[s["patient_id"].isin(labels)].drop_duplicates(["patient_id", "date"])
        marks = a[a["patient_id"].isin(labels)]
        assert n_points(ax) == len(shown) + len(marks)
        # every dot is at or after the patient's first session (x = days since t0 ≥ 0)
        dots = ax.collections[0].get_offsets()
        assert (np.asarray(dots)[:, 0] >= 0).all()

    def test_treatment_filter_and_bad_sort(self, clinic):
        s, _ = clinic
        ax = patient_timelines(s, n=100, treatments="hydrafacial")
        hyd = s[s["treatment"] == "hydrafacial"].drop_duplicates(["patient_id", "date"])
        assert n_points(ax) == len(hyd)
        with pytest.raises(ValueError, match="`sort_by` must be one of"):
            patient_timelines(s, sort_by="frequency")


def test_distributions(clinic):
    s, _ = clinic
    m = patient_metrics(s)
    ax = frequency_distribution(m)
    assert isinstance(ax, plt.Axes)
    assert sum(p.get_height() for p in ax.patches) == len(m)
    ax2 = frequency_distribution(s)  # from raw sessions
    assert sum(p.get_height() for p in ax2.patches) == len(m)
    fig = consistency_distribution(m)
    left, right = fig.axes
    assert sum(p.get_height() for p in left.patches) == m["interval_cv"].notna().sum()
    assert sum(p.get_height() for p in right.patches) == len(m)
    assert right.lines[0].get_xdata()[0] == 0.8
    ax3 = adherence_plot(m)
    assert sum(p.get_height() for p in ax3.patches) == m["adherence"].notna().sum()


def test_persistence_plot(clinic):
    s, _ = clinic
    curve = persistence_curve(s)
    ax = persistence_plot(curve, label="all")
    assert isinstance(ax, plt.Axes)
    x, y = ax.lines[0].get_data()
    assert list(y) == curve["survival"].tolist() and list(x) == curve["time"].tolist()
    ax2 = persistence_plot(s, permissible_gap=60)
    assert list(ax2.lines[0].get_data()[1]) == persistence_curve(
        s, permissible_gap=60)["survival"].tolist()
    # the band is drawn: one filled polygon between ci_low and ci_high
    assert len(ax2.collections) == 1
