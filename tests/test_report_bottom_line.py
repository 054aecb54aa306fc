"""The bottom line (outcomes.present.bottom_line) on hand-built schedule comparisons: the best
supported schedule against the reference, what it rests on, and the flag of a fragile number —
a fragile winner is never crowned."""

import numpy as np
import pandas as pd
import pytest

from outcomes.estimate.schedules import ScheduleComparison
from outcomes.present.bottom_line import bottom_line, standing
from outcomes.present.schedules import schedule_name, strategy_sentences
from outcomes.records.scales import DEFAULT_MEASURES

PORE = DEFAULT_MEASURES["pore"]
LABELS = {"protocol": "the clinic's protocol: 3 sessions 28 ± 7 days apart, then one every "
                      "91 ± 21 days",
          "every_2_months": "every two months (61 ± 10 days)",
          "monthly": "monthly (30 ± 7 days)",
          "single": "a single session, none after it before the review"}


def comparison(means, followers, ess, *, reference="protocol", diffs=None, extra=None,
               min_followers=20):
    """A ScheduleComparison with the given per-schedule (estimate, lo, hi), followers and
    effective numbers; contrasts with the reference from ``diffs`` or the means."""
    rows = []
    for name, (est, lo, hi) in means.items():
        rows.append({"measure": "pore", "model": "dr", "term": name, "estimate": est,
                     "ci_low": lo, "ci_high": hi, "n": 300, "n_outcome": followers[name],
                     "note": ""})
    for name, (est, lo, hi) in means.items():
        if name == reference:
            continue
        d = (diffs or {}).get(name)
        if d is None:
            r = means[reference]
            d = (est - r[0], est - r[0] - 0.3, est - r[0] + 0.3) if np.isfinite(est) else \
                (np.nan,) * 3
        rows.append({"measure": "pore", "model": "dr", "term": f"{name} - {reference}",
                     "estimate": d[0], "ci_low": d[1], "ci_high": d[2], "n": 300,
                     "n_outcome": np.nan, "note": ""})
    results = pd.DataFrame(rows)
    if extra is not None:
        for col, values in extra.items():
            results[col] = results["term"].map(values)
    weights = pd.DataFrame({"strategy": list(ess), "n_outcome": [followers[k] for k in ess],
                            "effective_n": list(ess.values())})
    empty = pd.DataFrame()
    return ScheduleComparison(
        results=results, followers=empty, weights=weights, balance=empty, sensitivity=empty,
        loss=empty, protocol=empty, notes=[], excluded={},
        settings={"measure": "pore", "landmark_days": 182, "reference": reference,
                  "min_followers": min_followers,
                  "strategies": {k: LABELS[k] for k in means}})


MEANS = {"protocol": (1.0, 0.8, 1.2), "every_2_months": (1.2, 1.0, 1.4),
         "monthly": (1.67, 1.44, 1.86), "single": (np.nan, np.nan, np.nan)}
FOLLOWERS = {"protocol": 90, "every_2_months": 120, "monthly": 28, "single": 8}
ESS = {"protocol": 70.0, "every_2_months": 95.0, "monthly": 17.0, "single": np.nan}


def test_a_fragile_winner_is_not_crowned():
    lines = bottom_line(comparison(MEANS, FOLLOWERS, ESS), PORE)
    assert len(lines) == 3
    answer, _, sure = lines
    assert "keep the clinic's protocol" in answer
    assert ("the only other schedule with a sound number, every two months, cannot be told "
            "apart from it") in answer
    assert "monthly" not in answer  # the largest number rests on 17 weighted patients
    assert "only 28 patients kept to monthly" in sure and "treat its number as a hint" in sure
    assert "monthly has the largest number" in sure and "not crowned" in sure


def test_the_reference_is_the_clinics_protocol_and_named():
    answer = bottom_line(comparison(MEANS, FOLLOWERS, ESS,
                                    diffs={"every_2_months": (0.2, 0.05, 0.35)}), PORE)[0]
    assert "better than the clinic's protocol" in answer and "reference chosen" not in answer
    assert "0.20 grades more improvement (95% CI 0.05 to 0.35)" in answer
    # the reference is itself the best supported: keep it
    answer = bottom_line(comparison(MEANS, FOLLOWERS, ESS, reference="every_2_months"),
                         PORE)[0]
    assert "keep every two months" in answer


def test_another_reference_is_named_as_chosen():
    means = {**MEANS, "every_2_months": (0.9, 0.7, 1.1)}
    answer = bottom_line(comparison(means, FOLLOWERS, ESS, reference="every_2_months"), PORE)[0]
    assert "keep every two months (the reference chosen for this comparison)" in answer
    assert ("the only other schedule with a sound number, the clinic's protocol, cannot be "
            "told apart") in answer


def test_the_verdict_of_the_difference_uses_the_one_rule():
    clear = comparison(MEANS, FOLLOWERS, ESS, diffs={"every_2_months": (0.2, 0.05, 0.35)})
    assert "best supported is every two months** — better than the clinic's protocol" in \
        bottom_line(clear, PORE)[0]
    assert "*supported*" in bottom_line(clear, PORE)[0]
    unclear = comparison(MEANS, FOLLOWERS, ESS, diffs={"every_2_months": (0.2, -0.1, 0.5)})
    assert "keep the clinic's protocol" in bottom_line(unclear, PORE)[0]
    assert "cannot be told apart from it" in bottom_line(unclear, PORE)[0]
    assert "*not enough data*" in bottom_line(unclear, PORE)[0]
    worse = comparison(MEANS, FOLLOWERS, ESS, diffs={"every_2_months": (-0.6, -0.9, -0.3)})
    answer = bottom_line(worse, PORE)[0]
    assert "keep the clinic's protocol" in answer and "is no better" in answer
    assert "0.60 grades less" in answer and "−" not in answer  # no minus sign to misread


def test_the_flag_sentence_and_what_each_number_rests_on():
    rests = bottom_line(comparison(MEANS, FOLLOWERS, ESS), PORE)[1]
    assert "monthly 28 (about 17 once weighted)" in rests
    assert "the clinic's protocol 90 (about 70 once weighted)" in rests
    assert "a single session 8 (too few for a number)" in rests
    sound = comparison(MEANS, FOLLOWERS, {**ESS, "monthly": 60.0})
    lines = bottom_line(sound, PORE)
    assert "best supported is monthly" in lines[0]
    assert "enough patients to act on" in lines[2]


def test_no_code_names_in_the_lines():
    text = " ".join(bottom_line(comparison(MEANS, FOLLOWERS, ESS), PORE))
    for code in ("every_2_months", "'protocol'", "single'"):
        assert code not in text


def test_the_comparisons_own_fragility_columns_win_over_the_fallback():
    extra = {"effective_n": {"protocol": 70.0, "every_2_months": 95.0, "monthly": 60.0,
                             "single": np.nan},
             "fragile": {"protocol": False, "every_2_months": True, "monthly": False,
                         "single": False},
             "fragile_reasons": {"every_2_months": "balance off by 0.5 SD on sex"}}
    c = comparison(MEANS, FOLLOWERS, ESS, extra=extra)
    table = standing(c).set_index("term")
    assert table.loc["every_2_months", "fragile"] and not table.loc["monthly", "fragile"]
    assert table.loc["every_2_months", "fragile_reasons"] == "balance off by 0.5 SD on sex"
    lines = bottom_line(c, PORE)
    assert "best supported is monthly" in lines[0]
    assert "kept to every two months" in lines[2]


def test_fallback_fragility_is_the_estimators_rule_one():
    """Without the estimator's columns: effective number under 40 or 2 × min_followers."""
    table = standing(comparison(MEANS, FOLLOWERS, ESS)).set_index("term")
    assert table["fragile"].to_dict() == {"protocol": False, "every_2_months": False,
                                          "monthly": True, "single": False}
    table = standing(comparison(MEANS, FOLLOWERS, ESS, min_followers=5)).set_index("term")
    assert table.loc["monthly", "fragile"]          # 17 < 40 whatever min_followers
    table = standing(comparison(MEANS, FOLLOWERS, ESS, min_followers=40)).set_index("term")
    assert table.loc["protocol", "fragile"] and not table.loc["every_2_months", "fragile"]


def test_every_number_fragile_crowns_nothing():
    c = comparison(MEANS, FOLLOWERS, {k: 10.0 for k in ESS})
    answer, _, sure = bottom_line(c, PORE)
    assert "best supported" not in answer and "rests on few patients" in answer
    assert "only 8 patients" not in sure  # a schedule without a number is not flagged
    assert "only 28 patients kept to monthly (about 10 once weighted), 90 to the clinic's " \
           "protocol (about 10) and 120 to every two months (about 10): treat these numbers " \
           "as a hint" in sure


@pytest.mark.parametrize("name,label,words", [
    ("protocol", LABELS["protocol"], "the clinic's protocol"),
    ("every_2_months", LABELS["every_2_months"], "every two months"),
    ("single", LABELS["single"], "a single session"),
    ("six_weekly", "", "six weekly"),
])
def test_schedule_names_are_peoples_words(name, label, words):
    assert schedule_name(name, label) == words


def test_strategy_sentences_use_peoples_words():
    text = " ".join(strategy_sentences(comparison(MEANS, FOLLOWERS, ESS), "pore grades"))
    assert "Had every patient followed monthly (30 ± 7 days)" in text
    assert "had they followed the clinic's protocol" in text
    assert "A single session cannot be judged" in text
    assert "'" + "monthly" not in text and "every_2_months" not in text


def test_how_wrong_sentences_name_schedules_in_words_with_tipping_point_and_e_value():
    from outcomes.present.schedules import how_wrong_sentences

    c = comparison(MEANS, FOLLOWERS, ESS)
    c.results["e_value"] = np.where(c.results["term"] == "every_2_months - protocol", 1.9, np.nan)
    c.tipping = pd.DataFrame([
        {"contrast": "every_2_months - protocol", "stopped_unseen": 0.09,
         "stopped_unseen_reference": 0.06, "tipping_delta": 1.4, "tipping_delta_ci": 0.5,
         "sentence": ""},
        {"contrast": "single - protocol", "stopped_unseen": 0.0, "stopped_unseen_reference": 0.06,
         "tipping_delta": np.nan, "tipping_delta_ci": np.nan, "sentence": ""}])
    out = how_wrong_sentences(c)
    assert len(out) == 1                       # single has no number: no sentence
    assert out[0].startswith("Every two months against the clinic's protocol: 9% of the patients "
                             "left every two months and 6% left the clinic's protocol")
    assert "1.40 grades worse" in out[0] and "at 0.50 grades worse" in out[0]
    assert "risk ratio of 1.9" in out[0] and "every_2_months" not in out[0]
