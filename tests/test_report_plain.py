"""The tables and sentences notebooks 01–05 show a clinic lead (outcomes.views): no index column,
no NaN, notes in full, row counts never suppressed, differences without minus signs, and words
that agree with the figure beside them."""

import numpy as np
import pandas as pd
import pytest
from test_report import DEMO, _records_with_rejects

from outcomes import Analysis
from outcomes.format import MISSING
from outcomes.present.display import Table, Text
from outcomes.records import load_records
from outcomes.views import check, robustness
from outcomes.views import outcomes as outcome_views


@pytest.fixture(scope="module")
def demo():
    return load_records(DEMO)


class TestTable:
    def test_no_index_column_no_nan_and_notes_in_full(self):
        note = "a long note " * 30
        t = Table(pd.DataFrame({"what": ["a", "b"], "value": [1.5, np.nan],
                                       "note": [note, ""]}, index=[7, 8]))
        html = t._repr_html_()
        assert "NaN" not in html and "nan" not in repr(t)
        assert MISSING in html and note.strip() in html
        assert "<th>7</th>" not in html and "7 " not in repr(t).splitlines()[1][:3]
        assert "<th>what</th>" in html


def test_row_counts_are_rows_not_people_so_never_suppressed():
    rec = _records_with_rejects(["out of scale"] * 2 + ["duplicate"] * 7)
    reasons = check.set_aside_reasons(rec).frame
    assert dict(zip(reasons["reason"], reasons["rows set aside"])) == {"duplicate": 7,
                                                                      "out of scale": 2}
    rows = check.rows_table(rec).frame.set_index("table")
    assert rows.loc["assessments"].to_dict() == {"rows read": 29, "rows used": 20,
                                                 "rows set aside": 9}
    assert isinstance(check.set_aside_reasons(_records_with_rejects([])), Text)


def test_balance_sentence_names_every_variable_above_the_line():
    balance = pd.DataFrame({"variable": ["baseline", "age", "sex"], "level": ["", "", "F"],
                            "smd_before": [0.59, 0.17, 0.03], "smd_after": [0.18, -0.05, 0.12]})
    text = robustness.balance_sentence(balance).markdown
    assert "starting grade (0.18)" in text and "sex: F (0.12)" in text and "age (" not in text
    assert "2 are not" in text
    ok = balance.assign(smd_after=[0.05, 0.01, -0.02])
    assert "every variable is within 0.1" in robustness.balance_sentence(ok).markdown


def test_balance_plot_is_tall_enough_for_its_labels():
    balance = pd.DataFrame({"variable": [f"v{i}" for i in range(30)], "level": "",
                            "smd_before": 0.2, "smd_after": 0.05})
    ax = robustness.balance_plot(balance)
    height = ax.figure.get_size_inches()[1]
    assert height / 30 >= 0.2  # at least 0.2 inch per label


def test_dose_response_words_explain_the_dotted_line_and_a_late_rise(demo):
    pore = outcome_views.dose_response_words(Analysis(demo, measure="pore")).markdown
    assert "dotted vertical line marks one session a month" in pore
    texture = Analysis(demo, measure="texture")
    words = outcome_views.dose_response_words(texture).markdown
    assert ("turns up again" in words) == outcome_views._rises_again(
        texture.table, outcome_views._knee(texture.table))


def test_dropout_sentence_has_no_double_negative(demo):
    text = robustness.dropout_sentence(Analysis(demo, measure="pore").dropout()).markdown
    assert "negative = less" not in text and "−" not in text


@pytest.mark.parametrize("name", ["02_attendance", "03_outcomes_and_attendance"])
def test_committed_controls_read_as_a_sentence_not_a_widget_repr(name):
    import nbformat

    nb = nbformat.read(DEMO.parents[1] / "notebooks" / f"{name}.ipynb", as_version=4)
    widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, f"{name} has no controls"
    for out in widgets:
        text = out["data"]["text/plain"]
        assert not text.startswith(("VBox(", "HBox(")) and "run the notebook" in text


def test_notes_are_forwardable_without_the_methods_document_or_the_landmark():
    from outcomes.views.summary import forwardable
    note = ("the longer schedules look somewhat better than they are (docs/methods.md §4.15); "
            "98 started too recently to reach the landmark")
    out = forwardable(note)
    assert "docs/" not in out and "§" not in out and "landmark" not in out
    assert out == ("the longer schedules look somewhat better than they are; 98 started too "
                   "recently to reach the review")


def test_figure_4_starts_at_month_0_defines_its_groups_and_keeps_its_legend_off_the_data(demo):
    import matplotlib
    matplotlib.use("Agg")
    from outcomes.views import summary

    analysis = Analysis(demo, measure="pore")
    ax = summary.trajectories_plot(analysis)
    xs = np.concatenate([line.get_xdata() for line in ax.get_lines() if len(line.get_xdata())])
    assert xs.min() >= 0                                  # no point at month −1
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 >= 1.0                               # beside the axes, not on the lines
    groups = summary.frequency_groups(analysis)
    assert groups.startswith("low: up to ") and "middle: up to" in groups and "high" in groups


def test_a_figure_and_its_caption_are_one_output_and_the_figure_is_closed(demo):
    import matplotlib
    matplotlib.use("Agg")
    from unittest import mock

    import matplotlib.pyplot as plt

    from outcomes.views import summary

    analysis = Analysis(demo, measure="pore")
    with mock.patch("IPython.display.display") as shown:
        assert summary.figure(summary.trajectories_plot(analysis), "**Figure 4.** words") is None
    first, second = (c.args[0] for c in shown.call_args_list)
    assert hasattr(first, "savefig")                         # the figure, then its caption
    assert isinstance(second, Text) and str(second).startswith("**Figure 4.**")
    assert plt.get_fignums() == []


def test_schedule_figure_names_schedules_in_words_with_the_legend_under_the_axes(demo):
    import matplotlib
    matplotlib.use("Agg")

    schedules = Analysis(demo, measure="pore").schedules(boot=0, sensitivity=False)
    ax = schedules.plot()
    ticks = " ".join(t.get_text() for t in ax.get_yticklabels())
    assert "the clinic's protocol" in ticks and "every_2_months" not in ticks
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.y0 < 0                                  # under the axes, off the intervals


def test_a_table_title_is_its_caption():
    html = Table(pd.DataFrame({"a": [1]}), title="Table 1. Schedules — Pore & size")._repr_html_()
    assert "<caption><strong>Table 1. Schedules — Pore &amp; size</strong></caption>" in html
    assert html.index("<caption>") < html.index("<thead>")
    noted = Table(pd.DataFrame({"a": [1]}), title="T", note="Grades on a 0–4 scale.")
    assert "<strong>T</strong><br><span" in noted._repr_html_()
    assert str(noted).splitlines()[:2] == ["T", "Grades on a 0–4 scale."]


def test_a_belief_about_pores_is_stated_for_the_measure_checked():
    from outcomes.present.beliefs import stated_for
    from outcomes.records.scales import DEFAULT_MEASURES

    belief = "Older patients have worse pores at their first visit."
    assert stated_for(belief, DEFAULT_MEASURES["pore"]) == belief
    assert stated_for(belief, DEFAULT_MEASURES["texture"]) == (
        "Older patients have worse skin texture at their first visit.")
