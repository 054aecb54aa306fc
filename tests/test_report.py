"""`outcomes report` and the helpers behind the notebooks (outcomes.views: report, widgets, views).

The end-to-end report is built once (module fixture) from a copy of the demo records with three
rows that must be quarantined, so that the report has a count below 5 to suppress.
"""

import re
import shutil
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from outcomes import Analysis, Settings, cli
from outcomes.errors import RecordsError, SettingError
from outcomes.present import display
from outcomes.protocols import Protocol
from outcomes.records import REJECT_COLUMNS, from_frames, load_records
from outcomes.views import attendance, check, report, summary, widgets
from outcomes.views import outcomes as outcome_views

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


# ---------------------------------------------------------------------------------------------
# the report, end to end


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    records = tmp_path_factory.mktemp("records") / "my clinic"
    shutil.copytree(DEMO, records)
    with open(records / "assessments.csv", "a", encoding="utf-8") as fh:  # 3 impossible grades
        fh.write("P0001,2025-01-05,face,clinician,9.0,2.0\n"
                 "P0002,2025-01-05,face,clinician,7.5,2.0\n"
                 "P0003,2025-01-05,face,clinician,-3.0,2.0\n")
    out = tmp_path_factory.mktemp("out") / "sub" / "summary.html"
    path = report.build_report(records, out)
    return path, path.read_text(encoding="utf-8"), records


def test_report_is_one_html_file_with_embedded_figures(built):
    path, html, _ = built
    assert path.is_file() and path.suffix == ".html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["summary.html"]  # no temp, no assets
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 1


def test_report_links_nothing_local_or_remote(built):
    _, html, records = built
    assert not re.search(r'src="(?!data:)', html)           # every src is embedded data
    assert "<script src" not in html and "<link" not in html
    assert 'src="file:' not in html and "file://" not in html
    assert str(records) not in html and str(ROOT) not in html  # no local paths at all


def test_report_hides_the_code(built):
    _, html, _ = built
    for code in ("load_records(", "notebook_setup()", "from outcomes", "records_path =",
                 "views.headline"):
        assert code not in html
    assert '<div class="highlight' not in html and "In&nbsp;[" not in html


def test_report_states_the_findings_with_confidence_intervals(built):
    _, html, _ = built
    for text in ("Schedules compared", "Had every patient followed", "Pore size",
                 "Skin texture", "Each additional session a month went with", "95% CI",
                 "Caveats", "Records, not a trial", "clinic's beliefs"):
        assert text in html, text
    # the two effects of frequency (pore, texture); the demo's schedules mostly have no number
    # since issue 22 (fewer than 20 effective followers among its new patients)
    assert len(re.findall(r"95% CI −?\d+\.\d+ to −?\d+\.\d+", html)) >= 2


def test_report_has_the_figures_a_clinic_lead_looks_at(built):
    _, html, _ = built
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 4
    for caption in ("Figure 1.", "Figure 2.", "Figure 3.", "Figure 4."):
        assert caption in html


def test_report_suppresses_small_counts(built):
    _, html, _ = built
    assert "3 input rows could not be used" in html     # rows, not people: shown as they are
    assert "&lt;5" not in html.split("input rows")[0][-20:]


def test_report_on_another_measure_and_landmark(tmp_path):
    out = report.build_report(DEMO, tmp_path / "texture.html",
                              Settings(landmark_days=120, reference="every_2_months"),
                              measures="texture", boot=20)
    html = out.read_text(encoding="utf-8")
    assert "Skin texture" in html and "120 days later" in html
    # another reference than the clinic's protocol is named in the bottom line as the one chosen
    assert "every two months (the reference chosen for this comparison)" in html


def _text(html: str) -> str:
    """The report's visible text, roughly: tags, styles and embedded images removed."""
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_opens_on_the_bottom_line_of_both_measures(built):
    text = _text(built[1])
    first = text.index("The records ")
    top = text[:first]
    for measure in ("Pore size", "Skin texture"):
        assert measure in top
    assert top.count("Rests on") == 2 and top.count("How sure:") == 2
    assert "the clinic's protocol" in top and "once weighted" in top
    assert "One rule for every verdict" in top   # the rule, once, near the top
    assert text.count("One rule for every verdict") == 1


def test_report_is_forwardable_without_code_names_paths_or_section_numbers(built):
    text = _text(built[1])
    for word in ("every_2_months", "§", "notebook 0", "docs/methods", ".ipynb", "landmark",
                 "Main answer", "'monthly'"):
        assert word not in text, word
    assert "How these numbers are made" in text
    assert "So, does coming regularly help?" in text
    assert "The clinic's beliefs — Pore size" in text
    assert "The clinic's beliefs — Skin texture" in text
    assert "grades on the 0–4 scale" in text and "moderate → mild" in text


def test_report_prints_each_figure_with_its_caption(built):
    html = built[1]
    assert "@media print" in html and ".jp-Cell:has(img) { break-inside: avoid;" in html
    # JupyterLab's own print style keeps every output whole, which pushed a long table to the
    # next page and left a near-empty one: only figures are kept whole
    assert ".jp-OutputArea-child { break-inside: auto; }" in html.split("@media print")[-1]
    rows = html.split(".jp-RenderedHTMLCommon tr, .jp-RenderedHTMLCommon li {")[1]
    assert rows.lstrip().startswith("break-inside: avoid")   # no table row split
    # a figure and its caption are outputs of one cell: the caption follows its image
    for n in range(1, 6):
        cell = html[:html.index(f"Figure {n}.")].rsplit('class="jp-Cell ', 1)[1]
        assert "data:image/png;base64," in cell, n


@pytest.mark.parametrize("kwargs, error, message", [
    ({"measures": "wrinkles"}, RecordsError, "`measure` must be among"),
    ({"settings": Settings(landmark_days=20, window_days=10)}, SettingError,
     "`landmark_days` must be a whole number of days >= 30"),
    ({"settings": Settings(protocol=Protocol(loading_sessions=6))}, SettingError,
     "`protocol` from the records folder's dataset.toml"),
    ({"settings": {"landmark_days": 120}}, SettingError, "must be an outcomes.Settings"),
])
def test_bad_options_are_named(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        report.build_report(DEMO, tmp_path / "r.html", **kwargs)
    assert not (tmp_path / "r.html").exists()


def test_every_plain_setting_reaches_the_notebook_as_json():
    import json

    settings = Settings(landmark_days=120, window_days=30, treatments=["microneedling"],
                        rater="patient", min_followers=10)
    plain = report.parameters(settings)
    assert json.loads(json.dumps(plain)) == plain
    assert set(plain) == set(report.PLAIN)
    assert Settings(**plain) == settings          # nothing lost on the way
    assert report.parameters(None) == {n: getattr(Settings(), n) for n in report.PLAIN}


def test_missing_folder_and_wrong_suffix(tmp_path):
    with pytest.raises(RecordsError, match="no such records folder"):
        report.build_report(tmp_path / "nowhere", tmp_path / "r.html")
    with pytest.raises(RecordsError, match="ending in .html"):
        report.build_report(DEMO, tmp_path / "r.pdf")


def test_a_failed_run_leaves_the_previous_report_untouched(tmp_path, monkeypatch):
    target = tmp_path / "summary.html"
    target.write_text("previous report")

    def boom(*args, **kwargs):
        raise RuntimeError("cell failed")

    monkeypatch.setattr(report, "to_html", boom)
    monkeypatch.setattr(report, "execute_summary", lambda *a, **k: nbformat.v4.new_notebook())
    with pytest.raises(RuntimeError):
        report.build_report(DEMO, target)
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.html"]


def test_cli_passes_the_options(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake(records_dir, output_html, settings, *, measures, boot):
        seen.update(dir=records_dir, out=output_html, measure=measures,
                    days=settings.landmark_days)
        Path(output_html).write_text("x")
        return Path(output_html)

    monkeypatch.setattr(report, "build_report", fake)
    out = tmp_path / "r.html"
    assert cli.main(["report", "somewhere", "-o", str(out), "--measure", "texture",
                     "--landmark-days", "120"]) == 0
    assert seen == {"dir": "somewhere", "out": str(out), "measure": ["texture"], "days": 120}
    assert "wrote" in capsys.readouterr().out


def test_kernel_is_this_interpreter():
    km = report.CurrentPythonKernelManager(kernel_name="python3")
    assert km.kernel_spec.argv[0] == sys.executable


def test_to_html_hides_code_and_embeds_images():
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU"
           "5ErkJggg==")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_code_here = 1")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png,
                                                                  "text/plain": "<Figure>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    html = report.to_html(nb)
    assert "secret_code_here" not in html
    assert f"data:image/png;base64,{png}" in html
    assert "<script" not in html


# ---------------------------------------------------------------------------------------------
# the helpers the notebooks call


@pytest.fixture(scope="module")
def demo():
    return load_records(DEMO)


def _records_with_rejects(reasons, n=20):
    ids = [f"P{i:02d}" for i in range(n)]
    sessions = pd.DataFrame({"patient_id": ids, "date": "2024-01-01",
                             "treatment": "microneedling"})
    assessments = pd.DataFrame({"patient_id": ids, "date": "2024-01-01", "pore": 3.0})
    rec = from_frames(sessions, assessments)
    rows = [{"file": "assessments.csv", "line": n + 2 + i, "column": "pore", "value": "9",
             "reason": r} for i, r in enumerate(reasons)]
    rec.rejects = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    rec.input_rows = {"sessions": n, "assessments": n + len(reasons), "patients": n}
    return rec


def test_frequency_groups_are_half_open():
    got = attendance.frequency_group(pd.Series([0.0, 0.49, 0.5, 0.99, 1.0, 3.0]))
    assert list(got.astype("str")) == ["under 0.5 a month", "under 0.5 a month",
                                       "0.5 to 1 a month", "0.5 to 1 a month",
                                       "1 or more a month", "1 or more a month"]


def test_present_formats_estimates_and_suppresses_patients():
    tidy = pd.DataFrame({"measure": "pore", "model": ["naive", "adjusted"],
                         "term": "sessions_per_month", "estimate": [1.234, -0.0001],
                         "ci_low": [0.5, -0.2], "ci_high": [2.0, 0.3], "p_value": [0.0004, 0.5],
                         "n": [120, 3], "note": ""})
    out = outcome_views.result_table(tidy)
    assert list(out.index) == ["naive (no adjustment)", "adjusted"]
    assert list(out["estimate (95% CI)"]) == ["1.23 (0.50 to 2.00)", "0.00 (−0.20 to 0.30)"]
    assert list(out["p"]) == ["<0.001", "0.500"]
    assert list(out["patients"]) == ["120", "<5"]


def test_followup_table_counts_patients(demo):
    analysis = Analysis(demo, measure="pore")
    table = analysis.ratings
    out = check.followup_table(analysis)
    n_in = int((table["status"] == "included").sum())
    assert out.loc["included (baseline and landmark)", "patients"] == str(n_in)
    shown = [v for v in out["patients"] if v.isdigit()]
    assert all(int(v) >= 5 or int(v) == 0 for v in shown)


def test_cohort_table_suppresses_small_cells(demo):
    out = check.cohort_table(Analysis(demo))
    assert out.loc[("n", ""), "Overall"] == str(len(demo.sessions["patient_id"].unique()))
    cells = out.drop(columns="Missing").to_numpy().ravel()
    counts = [int(m.group(1)) for c in cells if (m := re.match(r"^(\d+) \(", str(c)))]
    assert counts and min(c for c in counts if c > 0) >= 5   # 0 is nobody: shown as 0
    assert "<5" in set(cells)


def test_adherence_table_counts_match_the_metrics(demo):
    metrics = attendance.attendance_metrics(Analysis(demo, landmark_days=182))
    out = attendance.adherence_table(metrics)
    assert out.loc["All", "patients"] == str(len(metrics))
    expected = int((metrics["adherence"] >= 0.8).sum())
    assert out.loc["All", "on schedule"] == str(expected)


def test_attendance_window_is_the_first_landmark_days(demo):
    m = attendance.attendance_metrics(Analysis(demo, landmark_days=91))
    assert (m["window_days"] <= 91).all()
    assert (m["end"] - m["start"]).dt.days.max() == 91


def test_the_summary_gives_the_adjusted_effect_with_its_ci(demo):
    from outcomes.estimate.effects import adjusted_effect

    analysis = Analysis(demo, measure="pore")
    row = adjusted_effect(analysis.table).iloc[0]
    assert 0 < row["ci_low"] < row["estimate"] < 10   # positive: no sign to turn into words
    text = str(summary.association_findings(analysis))
    ci = f"{row['estimate']:.2f} (95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f})"
    assert f"**Adjusted:** Each additional session a month went with {ci} grades more" in text


def test_semicolon_hides_results_without_history():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    try:
        with capture_output() as before:
            ip.run_cell("40 + 2;", store_history=False)
        display._semicolon_without_history(ip)
        with capture_output() as after:
            ip.run_cell("40 + 2;", store_history=False)
            ip.run_cell("40 + 3", store_history=False)
    finally:
        InteractiveShell.clear_instance()
    assert "42" in before.stdout          # the IPython behaviour the hook corrects
    assert "42" not in after.stdout and "43" in after.stdout


# ---------------------------------------------------------------------------------------------
# widgets


class TestExplorer:
    def test_draws_the_default_view_and_redraws_on_change(self):
        calls = []
        box = widgets.explorer(lambda a, b: calls.append((a, b)), a=[91, 182, 273],
                               b=["x", "y"], defaults={"a": 182})
        assert calls == [(182, "x")]
        box.controls["b"].value = "y"
        box.controls["a"].value = 273
        assert calls[-2:] == [(182, "y"), (273, "y")]

    def test_control_types(self):
        import ipywidgets as w

        box = widgets.explorer(lambda a, b: None, a=[1, 2, 3], b=["x"], render=False)
        assert isinstance(box.controls["a"], w.SelectionSlider)
        assert isinstance(box.controls["b"], w.Dropdown)
        assert box.children[1].__class__ is w.Output

    def test_bad_choices_and_defaults(self):
        with pytest.raises(RecordsError, match="non-empty list"):
            widgets.explorer(lambda a: None, a=[])
        with pytest.raises(RecordsError, match="must be one of"):
            widgets.explorer(lambda a: None, a=[1, 2, 3], defaults={"a": 4})
        with pytest.raises(RecordsError, match="do not exist"):
            widgets.explorer(lambda a: None, a=[1], defaults={"z": 1})

    def test_a_records_error_is_shown_not_raised(self):
        def view(a):
            raise RecordsError("too few patients")

        box = widgets.explorer(view, a=["x"])
        (shown,) = box.output.outputs
        assert "too few patients" in shown["data"]["text/markdown"]

    def test_every_change_keeps_the_figure_in_the_output(self, demo):
        # notebook 02's bug: after a change the table was redrawn but the histogram left the cell
        import matplotlib.pyplot as plt

        box = widgets.attendance_explorer(Analysis(demo), landmarks=(91, 182))
        for protocol in list(box.controls["protocol"].options)[1:] + ["monthly throughout"]:
            box.controls["protocol"].value = protocol
            kinds = [set(o["data"]) for o in box.output.outputs]
            assert any("text/html" in k for k in kinds), protocol   # the table
            assert any("image/png" in k for k in kinds), protocol   # the histogram
        box.controls["landmark_days"].value = 91
        box.refresh()
        assert sum("image/png" in o["data"] for o in box.output.outputs) == 1
        assert plt.get_fignums() == []  # drawn once, then closed

    def test_a_committed_notebook_shows_a_sentence_not_the_widget_repr(self):
        box = widgets.explorer(lambda landmark_days: None, landmark_days=[91, 182],
                               labels={"landmark_days": "landmark (days)"}, render=False)
        bundle = box._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        text = bundle["text/plain"]
        assert "VBox" not in text and "landmark (days)" in text and "run the notebook" in text

    def test_effects_explorer_offers_what_the_records_hold(self, demo):
        box = widgets.effects_explorer(Analysis(demo), landmarks=(120, 182))
        c = box.controls
        assert list(c["measure"].options) == ["pore", "texture"]
        assert c["region"].options[0] == "face" and c["rater"].options[0] == "clinician"
        assert c["landmark_days"].value == 182

    def test_effects_explorer_offers_only_rated_region_rater_pairs(self, demo):
        # the demo's patients rate the whole face only: no "patient" choice on the nose
        box = widgets.effects_explorer(Analysis(demo), landmarks=(120, 182))
        c = box.controls
        assert list(c["rater"].options) == ["clinician", "patient"]   # the face: both
        c["region"].value = "nose"
        assert list(c["rater"].options) == ["clinician"]
        assert c["rater"].value == "clinician"
        pairs = widgets.rated_pairs(demo.assessments, ["pore"])["pore"]
        assert ("nose", "patient") not in pairs and ("face", "patient") in pairs

    def test_no_choice_is_cut_off(self, demo):
        box = widgets.attendance_explorer(Analysis(demo), landmarks=(91, 182))
        control = box.controls["protocol"]
        longest = max(len(o) for o in control.options)
        width = control.layout.width
        assert width.endswith("ch") and int(width[:-2]) >= len(control.description) + longest

    def test_attendance_explorer_protocols(self, demo):
        box = widgets.attendance_explorer(Analysis(demo), landmarks=(91, 182))
        assert list(box.controls["protocol"].options) == list(attendance.protocol_choices())
        box.controls["protocol"].value = "monthly throughout"  # redraws without error
        assert box.analyses.get(landmark_days=182, protocol=Protocol(
            loading_sessions=1, loading_interval=28, maintenance_interval=28,
            maintenance_tolerance=7)).settings.protocol.loading_sessions == 1

    def test_a_choice_seen_before_is_not_recomputed(self, demo):
        analysis = Analysis(demo, measure="pore")
        box = widgets.effects_explorer({"pore": analysis}, landmarks=(120, 182))
        cache = box.analyses
        assert cache.built == 0                      # the default view: the notebook's analysis
        box.controls["landmark_days"].value = 120
        shown_120 = box.output.outputs
        assert cache.built == 1
        box.controls["landmark_days"].value = 182    # back: the notebook's analysis again
        box.controls["landmark_days"].value = 120    # and forth: the one built before
        assert cache.built == 1 and box.output.outputs == shown_120
        assert cache.get(landmark_days=182) is analysis
        box.controls["measure"].value = "texture"
        assert cache.built == 2
        assert cache.get(measure="texture", landmark_days=120).settings.measure == "texture"

    def test_the_widget_cache_is_bounded(self, demo):
        cache = widgets.Analyses(Analysis(demo), size=2)
        first = cache.get(landmark_days=120)
        assert cache.get(landmark_days=120) is first and cache.built == 1
        cache.get(landmark_days=150)
        cache.get(landmark_days=160)
        assert len(cache) == 2 and cache.get(landmark_days=120) is not first

    def test_a_setting_that_cannot_be_is_shown_not_raised(self, demo):
        box = widgets.effects_explorer(Analysis(demo), landmarks=(30, 182))
        box.controls["landmark_days"].value = 30     # below the window: no such question
        (shown,) = box.output.outputs
        assert "`window_days` must be below `landmark_days`" in shown["data"]["text/markdown"]


def test_an_unknown_protocol_is_named():
    with pytest.raises(SettingError, match="`protocol` must be one of"):
        attendance.protocol_named("weekly")


def test_regions_table_lists_regions_present(demo):
    out = outcome_views.regions_table(Analysis(demo, measure="pore"))
    present = set(demo.assessments["region"].astype("str"))
    assert out.index[0] == "face" and set(out.index) == present
    assert np.all([("to" in v) or v == "not estimable" for v in out["estimate (95% CI)"]])


def test_report_on_few_patients_says_so_and_prints_no_warnings(tmp_path):
    from outcomes.synthetic import simulate

    records = simulate(20, seed=3).write(tmp_path / "tiny")
    html = report.build_report(records, tmp_path / "tiny.html").read_text(encoding="utf-8")
    assert "Few patients." in html
    assert "Warning" not in html and "Traceback" not in html
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html
