"""A synthetic clinic with a planted, exactly known truth (and the shipped demo records).

:func:`simulate` draws patients, their attendance and their ratings for a clinic that runs the usual
microneedling protocol (3 monthly loading sessions, then maintenance every 3 months), which patients
follow to varying degrees — some keep it, some come monthly or every two months throughout, some
bunch, lapse, drop out or never come back — and whose attendance responds to the ratings the
clinic records (no change: they stop and skip reviews; clearly better: they space out). It returns
the records in the docs/methods.md §1 format together with the hidden per-patient values and two truths,
computed by re-simulating the same patients under changed schedules (common random numbers):

- ``Simulation.truth``: the causal effect of one more session a month on landmark improvement
  (docs/methods.md §2);
- :func:`strategy_truth`: the mean improvement at the landmark had every eligible patient followed
  each schedule (docs/methods.md §4: ``protocol``, ``every_2_months``, ``monthly``, ``single``), and the
  contrasts between them — the target of the emulated trial.

Every parameter lives in :class:`SimParams`, documented with the literature it comes from; every
trap an analysis must survive (confounding by indication, attendance and loss driven by the
recorded ratings, latent informative drop-out, regression to the mean, rater noise, half-grade
rounding, the consistency effect, covariates, clinics) is a parameter that can be set to zero.
:meth:`SimParams.linear` gives a scenario whose truth is exactly a planted coefficient, for coverage
tests; :data:`STRATEGY_SCENARIOS` names the clinics for benchmarking the schedule comparison, one
trap at a time. :func:`strategy_followers` says who followed which strategy, from the schedules.

The data are synthetic; no real patient is behind any row.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..records import Records, from_frames
from ..records.scales import Measure

__all__ = [
    "ADHERENCE_TYPES",
    "ASSESSMENT_COLUMNS",
    "DEMO_PATIENTS",
    "DEMO_SEED",
    "MISTAKES",
    "PATIENT_COLUMNS",
    "SESSION_COLUMNS",
    "STRATEGY_SCENARIOS",
    "TRAPS",
    "SimParams",
    "Simulation",
    "demo_simulation",
    "follows_strategy",
    "protocol_response",
    "simulate",
    "strategy_followers",
    "strategy_truth",
    "truth_check",
    "write_with_mistakes",
]

#: The shipped demo (``data/demo``): number of patients and seed.
DEMO_PATIENTS = 600
DEMO_SEED = 20240101

ADHERENCE_TYPES = ("protocol", "monthly", "bimonthly", "regular", "bunched", "lapsed", "dropout",
                   "single")
SESSION_COLUMNS = ["patient_id", "date", "treatment", "depth_mm", "areas", "clinician_id"]
ASSESSMENT_COLUMNS = ["patient_id", "date", "region", "rater"]  # + one column per measure
PATIENT_COLUMNS = ["patient_id", "age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours",
                   "skincare", "concern", "clinic_id"]

_MEASURES = ("pore", "texture")
_REGIONS = ("nose", "forehead", "chin", "cheeks")
_AREA_PATTERNS = ("nose;chin;forehead;cheeks", "forehead;cheeks", "nose;chin", "cheeks")
_LABELS = {"pore": "Pore size (clinician grade)", "texture": "Skin texture (clinician grade)"}
_DAYS_PER_MONTH = 30.4375
_MAX_SESSIONS = 32          # planned sessions per patient (enough to fill the window and more)
_LANDMARK_DAYS = 182        # docs/methods.md §2 defaults
_LANDMARK_WINDOW = 45
_BASELINE_WINDOW = 30
_NO_RESPONSE = {"response_stop": 0.0, "response_space_prob": 0.0, "loss_response": 0.0}


@dataclass(frozen=True)
class SimParams:
    """Every parameter of the synthetic clinic, with where its value comes from.

    Change values with :func:`dataclasses.replace`; treat the dict fields as read-only (replace the
    whole dict). Each *trap* is controlled by one or more parameters that can be set to zero.
    Covariates are centred at a reference patient: 40 years, female, never smoker, low sun exposure,
    7 h sleep, skin type 3, basic skincare.

    Attributes
    ----------
    scenario : {"realistic", "linear"}
        ``"realistic"``: the outcome biology below. ``"linear"``: landmark improvement is exactly
        ``linear_beta * sessions_per_month + linear terms + noise`` (see :meth:`linear`).
    start_date : str
        First day of the two-year records window.
    window_days : int
        Length of the window (730 ≈ two years, as the issue asks). Nothing is recorded after it.
    late_start_share : float
        Share of *late starters* whose first session falls in the last 6 months of the window (less
        follow-up, usually no landmark); the others start uniformly over the first 18 months.
    n_clinics, clinicians_per_clinic : int
        Several clinics, each with its own clinicians (pseudonyms ``clinic_a``…, ``dr01``…).
    main_clinician_share : float
        Share of a patient's sessions done by their usual clinician.
    age_mean, age_sd, age_min, age_max : float
        Age at first session, normal and clipped (a typical aesthetic-clinic population).
    sex_shares, skin_type_shares, smoker_shares, sun_shares, skincare_shares, concern_shares : dict
        Category probabilities of the covariates (plausible clinic mix; ``concern`` is enlarged
        pores, clogged pores (blackheads) or both).
    sleep_mean, sleep_sd : float
        Hours of sleep, normal, rounded to half hours.
    adherence_shares : dict
        Probabilities of the attendance patterns (:data:`ADHERENCE_TYPES`) at an average baseline:
        ``protocol`` (3 loading sessions ~28 days apart, then one every ~91 days: the clinic's
        protocol kept), ``monthly`` (~30 days throughout), ``bimonthly`` (~61 days throughout),
        ``regular`` (3–6 monthly loading sessions, then maintenance every ~105 days: the protocol
        loosely kept), ``bunched`` (loading sessions 1–3 weeks apart, irregular maintenance),
        ``lapsed`` (regular rhythm broken by lapses of months), ``dropout`` (stops after 1–3
        sessions), ``single`` (one session, never back). The shares are chosen so that every default
        strategy of :func:`outcomes.strategies.default_strategies` is followed to the landmark by
        enough patients (≥ 25 of the 600 demo patients, ≥ 60 of 1,500).
    protocol_gap_mean, protocol_gap_sd, protocol_maintenance_mean, protocol_maintenance_sd : float
        Days between the 3 loading sessions and between maintenance sessions of ``protocol``
        attenders (normal, rounded): with SDs 3.5 and 10 about 95 % of the gaps fall inside the
        strategy's grace windows (28 ± 7, 91 ± 21).
    monthly_gap_mean, monthly_gap_sd, bimonthly_gap_mean, bimonthly_gap_sd : float
        Days between sessions of ``monthly`` (30 ± 7 window) and ``bimonthly`` (61 ± 10) attenders.
    monthly_persist_sessions : int
        Sessions a ``monthly`` attender keeps before ``maintenance_stop_rate`` applies (``protocol``
        and ``bimonthly`` attenders: 3).
    loading_min, loading_max, loading_p : float
        Loading sessions = ``loading_min + Binomial(loading_max - loading_min, p)``; the clinic
        protocol is 3–6 monthly sessions (docs/methods.md §0.1, the clinic's working belief).
    loading_gap_mean, loading_gap_sd : float
        Days between loading sessions of regular attenders (monthly; Ablon 2018 used 30 days),
        rounded, at least 21.
    bunched_gap_range : tuple of int
        Uniform range of days between loading sessions of bunched attenders.
    maintenance_gap_mean, maintenance_gap_sd : float
        Days between maintenance sessions (every 3–4 months: 3–4 sessions a year), at least 56;
        bunched attenders' maintenance gaps at least 14.
    bunched_maintenance_cv : float
        Coefficient of variation (lognormal) of the maintenance gaps of bunched attenders.
    lapse_days_range : tuple of int
        Extra days a lapse adds to a gap (2–6 months).
    lapse_rate : float
        Chance that any further gap of a ``lapsed`` attender also holds a lapse (one lapse in the
        loading phase or at the start of maintenance is certain).
    maintenance_stop_rate : float
        Chance of stopping after each maintenance session (persistence wanes).
    planned_dropout_range : tuple of int
        Sessions attended by ``dropout`` patients (uniform, inclusive).
    hydrafacial_shares : dict
        Share of sessions that are HydraFacial deep-cleansing facials, by concern (clogged pores
        get them, enlarged pores rarely).
    depth_mean, depth_sd, depth_session_sd : float
        Microneedling needle depth (mm): per patient normal, per session jitter, rounded to 0.25 mm,
        clipped to 0.5–2.5 mm (typical facial depths).
    full_face_share : float
        Share of patients treated on the full face (``nose;chin;forehead;cheeks``); the others on a
        fixed partial set.
    confounding : float
        Strength of **confounding by indication** (0 removes it): multiplies ``indication_effects``,
        by which a worse baseline (z-score of the mean of pore and texture, see
        ``indication_source``) makes a patient more likely to attend often (monthly, protocol,
        regular, bunched) and less likely to stop early, gives more loading sessions and shorter
        maintenance gaps.
    indication_effects : dict
        Log-odds per baseline SD for each adherence type (keys of :data:`ADHERENCE_TYPES`),
        ``loading`` (log-odds of each extra loading session) and ``maintenance_gap`` (log-factor
        on the gap).
    indication_source : {"recorded", "seen"}
        What the attendance pattern responds to: ``"recorded"`` (default) the pre-treatment rating
        as written to the records (where there is none, what was seen), so that confounding by
        indication is removable by adjusting for the recorded baseline; ``"seen"`` the severity
        as seen at the consultation (with the flare, before rater noise and rounding): residual
        confounding remains after adjusting for the recorded baseline (the behaviour before
        issue 14).
    nonresponder_share, nonresponder_response : float
        Share of biological non-responders and their response multiplier (the microneedling
        literature reports a minority with little change).
    dropout_nonresponder : float
        **Informative drop-out on a latent trait** (0 removes it): chance that a biological
        non-responder stops after session 2 or 3, whatever was recorded (not ignorable given the
        records: only partly visible through the interim ratings).
    followup_loss : float
        Chance that a patient not seen for a session in the 90 days before a review misses it
        (those who stopped, and those in a long lapse; it looks only at the past, so it is
        ignorable given the time since the last session).
    response_stop : float
        **Attendance driven by the recorded ratings** (0 removes it): at each session from the
        second on, with Δ = recorded baseline − latest recorded rating at or before that session
        (taken before it; see ``response_measure``), a patient with Δ ≤ ``response_stop_delta``
        stops (no later session) with this probability. Only ratings recorded at or before the
        session are used, so attendance is sequentially ignorable given the recorded history
        (baseline rating, covariates, latest rating, time since the last session, sessions so far).
    response_stop_delta : float
        See ``response_stop`` (0: no recorded improvement).
    response_space_prob, response_spacing, response_space_delta : float
        **Satisfied patients space out** (``response_space_prob`` = 0 removes it): at each such
        decision a patient with Δ ≥ ``response_space_delta`` (1 grade) takes the next gap
        ``response_spacing`` times as long (1.6) with probability ``response_space_prob``.
    response_measure : {"mean", "pore", "texture"}
        Which recorded improvement drives those decisions: the mean of the pore and texture Δ (a
        patient looks at their skin as a whole; an estimator then needs both measures' interim
        ratings in its history), or one measure's.
    loss_response : float
        **Loss to follow-up by recorded response** (0 removes it): chance that a patient whose
        latest recorded Δ before a review is ≤ ``response_stop_delta`` misses that review (the
        landmark review included).
    strategy_jitter_sd : float
        SD (days) of each patient's per-slot timing jitter used when a strategy is *forced* in
        :func:`strategy_truth` (rounded, clipped to the strategy's tolerance).
    response_sd : float
        SD of the log response multiplier among responders (mean multiplier 1).
    clinic_response_sd : float
        SD of the log response multiplier between clinics (technique differs).
    response_effects : dict
        Covariate effects on the log response multiplier (age, smoking, sun, sleep, sex, skin type,
        skincare); older, smoking, sun-exposed, short-sleeping skin remodels less collagen.
    baseline_mean, baseline_sd : dict
        True severity (0–4 grade) of the reference patient and its between-patient SD per measure
        (true baselines are clipped to [floor + 0.5, 3.9]).
    baseline_corr : float
        Correlation of pore and texture severity between patients.
    baseline_effects : dict
        Covariate effects on true baseline severity (grades): larger pores with sebum (oily zones,
        concern), male sex and age (Roh 2006); worse with smoking, sun exposure and poor sleep.
    clog_severity : dict
        Extra pore grade from clogging, by concern (removable by HydraFacial).
    gain_fraction : dict
        Share of the remaining headroom (``ceiling`` minus the benefit still committed) a
        microneedling session gains, per measure. Calibrated so that four sessions 30 days apart
        give a mean texture improvement of ~1.5 grades at day 150 (Ablon 2018: −1.54, 99% CI
        1.33–1.75): successive monthly sessions add about 0.8, 0.5, 0.2, 0.1 texture grades, i.e.
        ~0.4 grade per loading session, saturating after 3–4 sessions (docs/methods.md §6.3 suggested shape;
        Er:YAG and RF series improve from the first sessions and level off, Kwon 2018).
    ceiling_fraction : dict
        Largest reachable benefit as a share of the distance from baseline to ``floor``.
    floor : float
        The grade below which treatment does not take skin.
    onset_days : float
        Time constant of collagen remodelling: a session's benefit appears as
        ``1 - exp(-u / onset_days)`` (Kwon 2018: improvement keeps growing 12 weeks after the last
        session).
    fade_half_life_days : float
        Half-life of the benefit without further sessions: about half of the gain fades over ~6
        months without maintenance (docs/methods.md §6.3; Er:YAG 2020 fading by 6 months).
    natural_drift_per_year : float
        Untreated worsening of true severity per year (ageing skin).
    depth_effect : float
        Change of a session's efficacy per mm of needle depth above 1.5 mm.
    consistency_bunch : float
        **Consistency effect**, bunching (0 removes it): a session less than ``bunch_gap_days``
        after the previous microneedling session loses up to this share of its efficacy
        (linearly in the shortfall) — tissue has not finished remodelling.
    bunch_gap_days : float
        See ``consistency_bunch``.
    consistency_lapse : float
        **Consistency effect**, interruption (0 removes it): a session after a gap longer than
        ``lapse_gap_loading`` (before ``consolidation_sessions`` sessions) or
        ``lapse_gap_maintenance`` (afterwards) loses up to this share of its efficacy, reached
        ``lapse_penalty_days`` beyond the permissible gap; on top of the fading in the gap.
    lapse_gap_loading, lapse_gap_maintenance, lapse_penalty_days : float
        See ``consistency_lapse``.
    consolidation_sessions : int
        Sessions after which the loading phase counts as consolidated.
    hydrafacial_gain, hydrafacial_half_life_days : float
        A HydraFacial removes this share of the clogging component of the pore grade; the effect
        fades with this half-life (short-lived cleansing, no collagen remodelling).
    baseline_share : float
        Share of patients with a baseline assessment within the 30 days before/at the first session.
    early_consultation_share : float
        Share of the others whose only pre-treatment rating is an (unusable) consultation 35–90
        days before the first session.
    baseline_on_t0_share : float
        Share of those baselines taken on the day of the first session (before it).
    rate_at_session_share : float
        Chance that a session's day also has a clinician rating (taken before the session).
    review_months : tuple of float
        Scheduled review visits (months after the first session).
    review_attendance, review_sd_days : float
        Chance of attending a review and SD of its day around the schedule.
    baseline_flare_mean, baseline_noise_sd : float
        **Regression to the mean** (both 0 remove it beyond rater noise): at the first visit the
        skin is in a transient state — patients come when it looks worse — adding a patient-specific
        ``Normal(flare_mean, noise_sd)`` to what is seen and rated at baseline only.
    rater_sd : float
        **Clinician rating noise** (SD in grades of each rating).
    clinician_bias_sd : float
        SD of each clinician's systematic severity bias.
    rating_step : float
        **Half-grade rounding**: ratings are rounded to this grid (0.5); 0 keeps them continuous.
    scale_min, scale_max : float
        Range of the rating scale; ratings are clipped to it.
    region_rating_share : float
        Share of clinician assessments that also rate the four regions.
    region_offsets : dict
        Region minus face grade per measure: oily zones (nose, chin, forehead) show larger pores
        than the cheeks (Roh 2006: pores follow sebum output).
    region_sd : float
        Extra noise of a region rating.
    patient_rating_share, patient_rating_sd, patient_optimism : float
        Share of clinician assessments with a patient self-rating beside it, its noise, and how
        much better than the truth patients rate themselves once treatment has started.
    linear_beta : dict
        ``linear`` scenario: planted effect of one more session a month on landmark improvement.
    linear_baseline_coef : dict
        ``linear`` scenario: coefficient of the observed baseline rating (centred at
        ``baseline_mean``).
    linear_covariate_coefs : dict
        ``linear`` scenario: coefficients of ``age_decades`` (age − 40)/10, ``smoker_current``,
        ``sun_high``, ``sleep_hours`` (centred at 7), ``male``.
    linear_intercept : dict
        ``linear`` scenario: improvement of the reference patient at zero frequency.
    linear_noise_sd : float
        ``linear`` scenario: SD of the patient-level noise of the improvement.
    linear_nonresponder_shift : float
        ``linear`` scenario: improvement lost by non-responders (with ``dropout_nonresponder`` > 0
        this makes drop-out informative there too; 0 by default).
    truth_step : float
        Relative time compression used for the truth's central finite difference (see
        :func:`simulate`).
    """

    scenario: str = "realistic"
    # the window and the clinics
    start_date: str = "2024-01-01"
    window_days: int = 730
    late_start_share: float = 0.12
    n_clinics: int = 3
    clinicians_per_clinic: int = 2
    main_clinician_share: float = 0.85
    # covariates
    age_mean: float = 42.0
    age_sd: float = 11.0
    age_min: float = 18.0
    age_max: float = 75.0
    sex_shares: dict = field(default_factory=lambda: {"F": 0.80, "M": 0.18, "X": 0.02})
    skin_type_shares: dict = field(default_factory=lambda: {1: 0.08, 2: 0.30, 3: 0.30, 4: 0.17,
                                                            5: 0.10, 6: 0.05})
    smoker_shares: dict = field(default_factory=lambda: {
        "never": 0.65, "former": 0.2, "current": 0.15
    })
    sun_shares: dict = field(default_factory=lambda: {"low": 0.35, "moderate": 0.45, "high": 0.20})
    skincare_shares: dict = field(default_factory=lambda: {
        "none": 0.2, "basic": 0.55, "medical": 0.25
    })
    concern_shares: dict = field(default_factory=lambda: {
        "enlarged": 0.5, "clogged": 0.2, "both": 0.3
    })
    sleep_mean: float = 7.0
    sleep_sd: float = 1.0
    # attendance
    adherence_shares: dict = field(default_factory=lambda: {
        "protocol": 0.16, "monthly": 0.17, "bimonthly": 0.13, "regular": 0.14, "bunched": 0.07,
        "lapsed": 0.09, "dropout": 0.10, "single": 0.14
    })
    protocol_gap_mean: float = 28.0
    protocol_gap_sd: float = 3.5
    protocol_maintenance_mean: float = 91.0
    protocol_maintenance_sd: float = 10.0
    monthly_gap_mean: float = 30.0
    monthly_gap_sd: float = 3.5
    bimonthly_gap_mean: float = 61.0
    bimonthly_gap_sd: float = 4.0
    monthly_persist_sessions: int = 6
    loading_min: int = 3
    loading_max: int = 6
    loading_p: float = 0.35
    loading_gap_mean: float = 30.0
    loading_gap_sd: float = 4.0
    bunched_gap_range: tuple = (7, 20)
    maintenance_gap_mean: float = 105.0
    maintenance_gap_sd: float = 15.0
    bunched_maintenance_cv: float = 0.5
    lapse_days_range: tuple = (60, 180)
    lapse_rate: float = 0.15
    maintenance_stop_rate: float = 0.12
    planned_dropout_range: tuple = (1, 3)
    hydrafacial_shares: dict = field(default_factory=lambda: {
        "enlarged": 0.02, "clogged": 0.35, "both": 0.2
    })
    depth_mean: float = 1.5
    depth_sd: float = 0.25
    depth_session_sd: float = 0.1
    full_face_share: float = 0.75
    # traps: confounding and drop-out
    confounding: float = 1.0
    indication_source: str = "recorded"
    indication_effects: dict = field(default_factory=lambda: {
        "protocol": 0.3, "monthly": 0.5, "bimonthly": 0.0, "regular": 0.4, "bunched": 0.2,
        "lapsed": 0.0, "dropout": -0.5, "single": -0.6, "loading": 0.8, "maintenance_gap": -0.1
    })
    nonresponder_share: float = 0.15
    nonresponder_response: float = 0.1
    dropout_nonresponder: float = 0.5
    followup_loss: float = 0.35
    response_stop: float = 0.35
    response_stop_delta: float = 0.0
    response_space_prob: float = 0.2
    response_spacing: float = 1.6
    response_space_delta: float = 1.0
    response_measure: str = "mean"
    loss_response: float = 0.3
    strategy_jitter_sd: float = 4.0
    # biology
    response_sd: float = 0.3
    clinic_response_sd: float = 0.1
    response_effects: dict = field(default_factory=lambda: {
        "age_per_decade": -0.08, "smoker_current": -0.2, "smoker_former": -0.05,
        "sun_moderate": -0.03, "sun_high": -0.1, "sleep_per_hour": 0.05, "male": -0.05,
        "skin_type_per_step": 0.0, "skincare_medical": 0.1, "skincare_none": -0.05
    })
    baseline_mean: dict = field(default_factory=lambda: {"pore": 2.4, "texture": 2.6})
    baseline_sd: dict = field(default_factory=lambda: {"pore": 0.45, "texture": 0.45})
    baseline_corr: float = 0.5
    baseline_effects: dict = field(default_factory=lambda: {
        "pore": {
            "age_per_decade": 0.12, "male": 0.35, "smoker_current": 0.25, "smoker_former": 0.1,
            "sun_moderate": 0.1, "sun_high": 0.25, "sleep_per_hour": -0.1,
            "skin_type_per_step": 0.05, "concern_enlarged": 0.25, "concern_both": 0.2,
            "concern_clogged": 0.0
        },
        "texture": {
            "age_per_decade": 0.18, "male": 0.1, "smoker_current": 0.25, "smoker_former": 0.1,
            "sun_moderate": 0.1, "sun_high": 0.3, "sleep_per_hour": -0.1, "skin_type_per_step": 0.0,
            "concern_enlarged": 0.0, "concern_both": 0.0, "concern_clogged": 0.0
        },
    })
    clog_severity: dict = field(default_factory=lambda: {
        "enlarged": 0.0, "clogged": 0.6, "both": 0.4
    })
    gain_fraction: dict = field(default_factory=lambda: {"pore": 0.56, "texture": 0.70})
    ceiling_fraction: dict = field(default_factory=lambda: {"pore": 0.75, "texture": 1.0})
    floor: float = 0.25
    onset_days: float = 21.0
    fade_half_life_days: float = 182.6
    natural_drift_per_year: float = 0.05
    depth_effect: float = 0.3
    consistency_bunch: float = 0.7
    bunch_gap_days: float = 21.0
    consistency_lapse: float = 0.6
    lapse_gap_loading: float = 45.0
    lapse_gap_maintenance: float = 150.0
    lapse_penalty_days: float = 60.0
    consolidation_sessions: int = 3
    hydrafacial_gain: float = 0.6
    hydrafacial_half_life_days: float = 30.0
    # assessments
    baseline_share: float = 0.92
    baseline_on_t0_share: float = 0.75
    early_consultation_share: float = 0.5
    rate_at_session_share: float = 0.5
    review_months: tuple = (3.0, 6.0, 9.0, 12.0, 18.0, 24.0)
    review_attendance: float = 0.8
    review_sd_days: float = 10.0
    baseline_flare_mean: float = 0.1
    baseline_noise_sd: float = 0.3
    rater_sd: float = 0.3
    clinician_bias_sd: float = 0.15
    rating_step: float = 0.5
    scale_min: float = 0.0
    scale_max: float = 4.0
    region_rating_share: float = 0.3
    region_offsets: dict = field(default_factory=lambda: {
        "pore": {"nose": 0.6, "forehead": 0.3, "chin": 0.3, "cheeks": -0.4},
        "texture": {"nose": 0.0, "forehead": 0.1, "chin": 0.1, "cheeks": 0.2},
    })
    region_sd: float = 0.2
    patient_rating_share: float = 0.5
    patient_rating_sd: float = 0.5
    patient_optimism: float = 0.3
    # linear scenario
    linear_beta: dict = field(default_factory=lambda: {"pore": 0.4, "texture": 0.6})
    linear_baseline_coef: dict = field(default_factory=lambda: {"pore": 0.3, "texture": 0.3})
    linear_covariate_coefs: dict = field(default_factory=lambda: {
        "age_decades": -0.1, "smoker_current": -0.2, "sun_high": -0.1, "sleep_hours": 0.05, "male":
        0.0
    })
    linear_intercept: dict = field(default_factory=lambda: {"pore": 0.2, "texture": 0.3})
    linear_noise_sd: float = 0.4
    linear_nonresponder_shift: float = 0.0
    # the truth
    truth_step: float = 0.15

    def __post_init__(self) -> None:
        if self.scenario not in ("realistic", "linear"):
            raise ValueError(f"The value for `scenario` must be one of ['realistic', 'linear'], "
                             f"but {self.scenario!r} was passed.")
        for name in ("sex_shares", "skin_type_shares", "smoker_shares", "sun_shares",
                     "skincare_shares", "concern_shares", "adherence_shares"):
            total = sum(getattr(self, name).values())
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(f"The shares in `{name}` must sum to 1, but they sum to {total}.")
        if set(self.adherence_shares) != set(ADHERENCE_TYPES):
            raise ValueError(f"`adherence_shares` must have the keys {list(ADHERENCE_TYPES)}.")
        if self.indication_source not in ("recorded", "seen"):
            raise ValueError(f"The value for `indication_source` must be one of "
                             f"['recorded', 'seen'], but {self.indication_source!r} was passed.")
        if self.response_measure not in ("mean", *_MEASURES):
            raise ValueError(f"The value for `response_measure` must be one of "
                             f"{['mean', *_MEASURES]}, but {self.response_measure!r} was passed.")
        if self.scenario == "linear" and (self.response_stop > 0 or self.response_space_prob > 0
                                          or self.loss_response > 0):
            raise ValueError("In the `linear` scenario the interim ratings are drawn from the "
                             "landmark value, so attendance cannot respond to them: set "
                             "`response_stop`, `response_space_prob` and `loss_response` to 0 "
                             "(SimParams.linear() does).")
        if self.window_days < 200 or self.n_clinics < 1 or self.clinicians_per_clinic < 1:
            raise ValueError("`window_days` must be at least 200 and there must be at least one "
                             "clinic and one clinician.")

    @classmethod
    def linear(cls, beta: float | dict | None = None, **overrides) -> SimParams:
        """The ``linear`` scenario: the truth is exactly ``beta`` for every measure.

        Landmark improvement (docs/methods.md §2, on the primary ratings) is planted as::

            improvement = beta * sessions_per_month + intercept
                          + linear_baseline_coef * (baseline rating - baseline_mean)
                          + age_decades * c_age + smoker_current * c_smk + sun_high * c_sun
                          + (sleep_hours - 7) * c_sleep + male * c_male
                          - linear_nonresponder_shift * nonresponder + Normal(0, linear_noise_sd)

        with ``sessions_per_month`` and the baseline exactly as an analysis computes them from the
        records, so ``improvement ~ sessions_per_month + baseline + covariates`` by OLS is correctly
        specified. Ratings are continuous (``rating_step=0``) on a wide scale (−50…50) so neither
        rounding nor clipping bends the line; informative drop-out and attendance driven by the
        interim ratings are off (the interim ratings are drawn from the landmark value here, so
        attendance responding to them would respond to the future).

        Parameters
        ----------
        beta : float or dict, optional
            Planted coefficient, one value for all measures or ``{"pore": .., "texture": ..}``.
        **overrides
            Any other :class:`SimParams` field.
        """
        base = cls()
        if beta is None:
            beta = dict(base.linear_beta)
        elif not isinstance(beta, dict):
            beta = {m: float(beta) for m in _MEASURES}
        else:
            beta = {**base.linear_beta, **{k: float(v) for k, v in beta.items()}}
        kwargs = {"scenario": "linear", "linear_beta": beta, "rating_step": 0.0, "scale_min": -50.0,
                  "scale_max": 50.0, "dropout_nonresponder": 0.0, "response_stop": 0.0,
                  "response_space_prob": 0.0, "loss_response": 0.0}
        kwargs.update(overrides)
        return cls(**kwargs)

    def without_traps(self) -> SimParams:
        """The same clinic with every trap switched off (no confounding, informative drop-out,
        attendance or loss driven by the recorded ratings, flare, rater noise, clinician bias,
        rounding or consistency effect)."""
        return dataclasses.replace(
            self, confounding=0.0, dropout_nonresponder=0.0, baseline_flare_mean=0.0,
            baseline_noise_sd=0.0, rater_sd=0.0, clinician_bias_sd=0.0, rating_step=0.0,
            consistency_bunch=0.0, consistency_lapse=0.0, **_NO_RESPONSE)

    def without_response(self) -> SimParams:
        """The same clinic with attendance and loss to follow-up no longer driven by the recorded
        ratings (``response_stop``, ``response_space_prob``, ``loss_response`` = 0)."""
        return dataclasses.replace(self, **_NO_RESPONSE)

    @classmethod
    def strategy_scenarios(cls) -> dict[str, SimParams]:
        """Named clinics for benchmarking the schedule comparison (docs/methods.md §4); see
        :data:`STRATEGY_SCENARIOS`."""
        return _strategy_scenarios(cls)

    def measures(self) -> dict[str, Measure]:
        """The measures of the simulated records (the default 0–4 half-grade scales by default)."""
        step = self.rating_step if self.rating_step > 0 else None
        label = (lambda m: _LABELS[m]) if self.scenario == "realistic" else (
            lambda m: _LABELS[m].replace("clinician grade", "linear-scenario score"))
        return {m: Measure(m, label(m), float(self.scale_min), float(self.scale_max), "lower", step)
                for m in _MEASURES}


@dataclass
class Simulation:
    """A simulated clinic: records, the hidden values behind them and the truth.

    Attributes
    ----------
    sessions, assessments, patients : DataFrame
        The records exactly as written to the CSV files (docs/methods.md §1): ISO date strings, lower-case
        treatments, ratings on the measures' grid; rows sorted, fixed column order.
    measures : dict of str to Measure
        The scales (``scales.default_measures()`` unless the scenario changes them).
    truth : DataFrame
        ``measure, estimand, value, n, method`` — see :func:`simulate`.
    latent : DataFrame
        One row per patient of hidden values: ``adherence``, ``n_loading``, ``planned_sessions``,
        ``dropout`` and ``dropout_reason``, ``nonresponder``, ``response``, ``indication_z``,
        ``t0``, ``has_baseline``, ``has_landmark``, ``landmark_date``, ``n_sessions`` and
        ``sessions_per_month`` (docs/methods.md §2; −1 / NaN without a landmark) and per measure
        ``true_baseline_*``, ``true_landmark_*``, ``true_improvement_*`` (noise-free severity at t0
        and at the landmark date, or t0 + 182 d without a landmark; in the ``linear`` scenario the
        observed baseline and the planted landmark value), ``ceiling_*``; ``eligible`` (docs/methods.md
        §4.3: a baseline in [t0 − 30, t0] and t0 + 227 d within the window) and ``review_date``
        (the 6-month review as drawn, attended or not: the landmark of :func:`strategy_truth`).
        ``dropout_reason`` is ``"none"``, ``"planned"`` (the ``dropout`` and ``single``
        patterns), ``"non_responder"`` (latent, ``dropout_nonresponder``) or ``"response"``
        (stopped on the recorded ratings, ``response_stop``).
    params : SimParams
    seed : int or None
    state : dict
        The draws behind the records (biology, plans, rater noise, the unfolded schedule), kept for
        :meth:`strategy_truth` and :meth:`followers`; internal, not part of the records.
    """

    sessions: pd.DataFrame
    assessments: pd.DataFrame
    patients: pd.DataFrame
    measures: dict[str, Measure]
    truth: pd.DataFrame
    latent: pd.DataFrame
    params: SimParams
    seed: int | None = None
    state: dict | None = field(default=None, repr=False, compare=False)

    def strategy_truth(self, strategies=None) -> pd.DataFrame:
        """The interventional truth of every strategy (see :func:`strategy_truth`)."""
        return strategy_truth(self, strategies)

    def followers(self, strategies=None) -> pd.DataFrame:
        """Who follows which strategy to the landmark (see :func:`strategy_followers`)."""
        return strategy_followers(self, strategies)

    def to_records(self) -> Records:
        """The records as :class:`~outcomes.records.Records` (through ``records.from_frames``)."""
        return from_frames(self.sessions, self.assessments, self.patients, self.measures)

    def write(self, path: str | Path) -> Path:
        """Write ``sessions.csv``, ``assessments.csv``, ``patients.csv`` and ``dataset.toml``.

        The output is byte-for-byte deterministic: fixed column order, sorted rows, no index,
        floats pre-rounded and written in their shortest form, ``\\n`` line endings, UTF-8.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in (("sessions", self.sessions), ("assessments", self.assessments),
                            ("patients", self.patients)):
            text = frame.to_csv(index=False, lineterminator="\n")
            (path / f"{name}.csv").write_bytes(text.encode("utf-8"))
        (path / "dataset.toml").write_bytes(_scales_toml(self.measures).encode("utf-8"))
        return path


def _scales_toml(measures: dict[str, Measure]) -> str:
    lines = ["# Rating scales of the synthetic demo clinic (outcomes.synthetic).", ""]
    for m in measures.values():
        lines += [f"[measures.{m.name}]", f'label = "{m.label}"', f"min = {m.min!r}",
                  f"max = {m.max!r}", f'better = "{m.better}"']
        if m.step is not None:
            lines.append(f"step = {m.step!r}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# drawing the clinic
# ---------------------------------------------------------------------------------------------

def _choice(rng, shares: dict, n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    idx = rng.choice(len(keys), size=n, p=p / p.sum())
    return np.array(keys, dtype=object)[idx]


def _draw_patients(rng, n: int, p: SimParams) -> dict:
    age = np.round(np.clip(rng.normal(p.age_mean, p.age_sd, n), p.age_min, p.age_max))
    sex = _choice(rng, p.sex_shares, n)
    skin = _choice(rng, p.skin_type_shares, n).astype(int)
    smoker = _choice(rng, p.smoker_shares, n)
    sun = _choice(rng, p.sun_shares, n)
    sleep = np.clip(np.round(rng.normal(p.sleep_mean, p.sleep_sd, n) * 2) / 2, 4.0, 10.0)
    skincare = _choice(rng, p.skincare_shares, n)
    concern = _choice(rng, p.concern_shares, n)
    clinic = rng.integers(0, p.n_clinics, n)
    main = clinic * p.clinicians_per_clinic + rng.integers(0, p.clinicians_per_clinic, n)
    return {"age": age, "sex": sex, "skin_type": skin, "smoker": smoker, "sun": sun, "sleep": sleep,
                "skincare": skincare, "concern": concern, "clinic": clinic, "main_clinician": main}


def _covariate_design(pt: dict) -> dict[str, np.ndarray]:
    """Indicator/centred covariates shared by the baseline, response and linear terms."""
    return {
        "age_per_decade": (pt["age"] - 40.0) / 10.0,
        "male": (pt["sex"] == "M").astype(float),
        "smoker_current": (pt["smoker"] == "current").astype(float),
        "smoker_former": (pt["smoker"] == "former").astype(float),
        "sun_moderate": (pt["sun"] == "moderate").astype(float),
        "sun_high": (pt["sun"] == "high").astype(float),
        "sleep_per_hour": pt["sleep"] - 7.0,
        "skin_type_per_step": pt["skin_type"] - 3.0,
        "skincare_medical": (pt["skincare"] == "medical").astype(float),
        "skincare_none": (pt["skincare"] == "none").astype(float),
        "concern_enlarged": (pt["concern"] == "enlarged").astype(float),
        "concern_clogged": (pt["concern"] == "clogged").astype(float),
        "concern_both": (pt["concern"] == "both").astype(float),
    }


def _linear_combination(design: dict, coefs: dict, n: int) -> np.ndarray:
    out = np.zeros(n)
    for key, coef in coefs.items():
        if key not in design:
            raise ValueError(f"Unknown covariate effect {key!r}; known: {sorted(design)}.")
        out += coef * design[key]
    return out


def _draw_biology(rng, n: int, p: SimParams, pt: dict, design: dict) -> dict:
    z = rng.standard_normal((n, 2))
    corr = np.array([[1.0, 0.0], [p.baseline_corr, math.sqrt(1 - p.baseline_corr ** 2)]])
    u = z @ corr.T
    clog = np.array([p.clog_severity[c] for c in pt["concern"]])
    s0, ceiling, flare = {}, {}, {}
    for j, m in enumerate(_MEASURES):
        value = (p.baseline_mean[m] + _linear_combination(design, p.baseline_effects[m], n)
                 + p.baseline_sd[m] * u[:, j] + (clog if m == "pore" else 0.0))
        s0[m] = np.clip(value, p.floor + 0.5, 3.9)
        ceiling[m] = p.ceiling_fraction[m] * (s0[m] - p.floor - (clog if m == "pore" else 0.0))
        flare[m] = p.baseline_flare_mean + p.baseline_noise_sd * rng.standard_normal(n)
    nonresp = rng.random(n) < p.nonresponder_share
    r = np.exp(p.response_sd * rng.standard_normal(n) - p.response_sd ** 2 / 2)
    r = np.where(nonresp, p.nonresponder_response, r)
    clinic_eff = np.exp(p.clinic_response_sd * rng.standard_normal(p.n_clinics))
    response = r * np.exp(_linear_combination(design, p.response_effects, n)) \
        * clinic_eff[pt["clinic"]]
    seen = np.mean([s0[m] + flare[m] for m in _MEASURES], axis=0)
    indication = (seen - seen.mean()) / (seen.std() or 1.0)
    return {"s0": s0, "ceiling": ceiling, "flare": flare, "clog": clog, "nonresponder": nonresp,
                "response": response, "indication_z": indication}


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _normal_gaps(rng, mean, sd, shape, low):
    return np.maximum(np.round(rng.normal(mean, sd, shape)), low)


def _draw_plan(rng, n: int, p: SimParams, pt: dict, bio: dict) -> dict:
    """Attendance type, planned gaps, planned stop point and per-slot attributes.

    ``gaps[:, k]`` is the planned number of days from session k to k+1 (0-based); the schedule is
    built from them sequentially by :func:`_run_schedule`, which may stop it early or stretch a
    gap after looking at the recorded ratings.
    """
    K = _MAX_SESSIONS
    z = bio["indication_z"] * p.confounding
    eff = p.indication_effects
    types = list(ADHERENCE_TYPES)
    with np.errstate(divide="ignore"):                  # a share of 0 removes a pattern
        logits = np.log([p.adherence_shares[t] for t in types])[None, :] + z[:, None] * np.array(
            [eff.get(t, 0.0) for t in types])[None, :]
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    type_idx = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    type_idx = np.minimum(type_idx, len(types) - 1)
    adherence = np.array(types, dtype=object)[type_idx]
    is_ = {t: (adherence == t) for t in types}
    p_load = _expit(math.log(p.loading_p / (1 - p.loading_p)) + eff.get("loading", 0.0) * z)
    n_load = p.loading_min + (rng.random((n, p.loading_max - p.loading_min))
                              < p_load[:, None]).sum(axis=1)
    # gaps[:, k] = days between planned session k and k+1
    idx = np.arange(K - 1)[None, :]
    in_loading = idx < (n_load[:, None] - 1)
    regular_load = _normal_gaps(rng, p.loading_gap_mean, p.loading_gap_sd, (n, K - 1), 21)
    lo, hi = p.bunched_gap_range
    bunched_load = rng.integers(lo, hi + 1, (n, K - 1)).astype(float)
    gap_factor = np.exp(eff.get("maintenance_gap", 0.0) * z)[:, None]
    maint = np.maximum(np.round(rng.normal(p.maintenance_gap_mean, p.maintenance_gap_sd,
                                           (n, K - 1)) * gap_factor), 56)
    cv = p.bunched_maintenance_cv
    sig = math.sqrt(math.log(1 + cv ** 2))
    bunched_maint = np.maximum(np.round(p.maintenance_gap_mean * gap_factor * np.exp(
        sig * rng.standard_normal((n, K - 1)) - sig ** 2 / 2)), 14)
    is_b = is_["bunched"][:, None]
    gaps = np.where(in_loading, np.where(is_b, bunched_load, regular_load),
                    np.where(is_b, bunched_maint, maint))
    # the schedules the strategies describe, kept with small jitter
    proto = np.where(idx < 2, _normal_gaps(rng, p.protocol_gap_mean, p.protocol_gap_sd,
                                           (n, K - 1), 14),
                     _normal_gaps(rng, p.protocol_maintenance_mean, p.protocol_maintenance_sd,
                                  (n, K - 1), 28))
    monthly = _normal_gaps(rng, p.monthly_gap_mean, p.monthly_gap_sd, (n, K - 1), 14)
    bimonthly = _normal_gaps(rng, p.bimonthly_gap_mean, p.bimonthly_gap_sd, (n, K - 1), 21)
    gaps = np.where(is_["protocol"][:, None], proto, gaps)
    gaps = np.where(is_["monthly"][:, None], monthly, gaps)
    gaps = np.where(is_["bimonthly"][:, None], bimonthly, gaps)
    # lapses: one certain lapse in gaps 1..n_load (loading or first maintenance), more at random
    lapse_len = rng.integers(p.lapse_days_range[0], p.lapse_days_range[1] + 1, (n, K - 1))
    first_lapse = rng.integers(0, n_load)  # gap index in [0, n_load-1]
    lapsed = is_["lapsed"][:, None]
    extra = (idx == first_lapse[:, None]) | (rng.random((n, K - 1)) < p.lapse_rate)
    gaps = gaps + np.where(lapsed & extra, lapse_len, 0)
    # how many planned sessions happen (before any response to the ratings)
    persist = np.select([is_["protocol"] | is_["bimonthly"], is_["monthly"]],
                        [3, p.monthly_persist_sessions], n_load)
    maint_stop = rng.geometric(min(max(p.maintenance_stop_rate, 1e-9), 1.0), n)
    stop = np.minimum(persist + maint_stop, K)
    lo, hi = p.planned_dropout_range
    planned_drop = rng.integers(lo, hi + 1, n)
    stop = np.where(is_["dropout"], planned_drop, stop)
    stop = np.where(is_["single"], 1, stop)
    nonresp_stop = rng.integers(2, 4, n)
    informative = bio["nonresponder"] & (rng.random(n) < p.dropout_nonresponder) \
        & (nonresp_stop < stop)
    stop = np.where(informative, nonresp_stop, stop)
    reason = np.where(informative, "non_responder",
                      np.where(is_["dropout"] | is_["single"], "planned", "none")).astype(object)
    n_load = np.select([is_["protocol"], is_["monthly"], is_["bimonthly"], is_["single"]],
                       [3, p.monthly_persist_sessions, 1, 1], n_load)
    n_load = np.where(is_["dropout"], planned_drop, n_load)
    # per-session attributes
    hf_share = np.array([p.hydrafacial_shares[c] for c in pt["concern"]])
    hydra = rng.random((n, K)) < hf_share[:, None]
    base_depth = np.clip(rng.normal(p.depth_mean, p.depth_sd, n), 0.5, 2.5)
    depth = np.clip(np.round((base_depth[:, None] + p.depth_session_sd
                              * rng.standard_normal((n, K))) * 4) / 4, 0.5, 2.5)
    other = rng.integers(0, p.clinicians_per_clinic, (n, K)) \
        + (pt["clinic"] * p.clinicians_per_clinic)[:, None]
    clinician = np.where(rng.random((n, K)) < p.main_clinician_share,
                         pt["main_clinician"][:, None], other)
    area_pattern = np.where(rng.random(n) < p.full_face_share, 0,
                            rng.integers(1, len(_AREA_PATTERNS), n))
    # uniforms of the decisions taken along the way, and the jitter of forced strategies
    return {"adherence": adherence, "n_load": n_load, "gaps": gaps, "planned_stop": stop,
            "reason": reason, "hydra": hydra, "depth": depth, "clinician": clinician,
            "area_pattern": area_pattern, "u_stop": rng.random((n, K)),
            "u_space": rng.random((n, K)), "jitter": rng.standard_normal((n, K))}


# ---------------------------------------------------------------------------------------------
# the outcome biology (vectorised over patients; loops only over the ≤ 32 planned sessions)
# ---------------------------------------------------------------------------------------------

def _increments(p: SimParams, m: str, days, active, mn, depth, response, ceiling):
    """Benefit committed by each microneedling session (grades), with saturation and the
    consistency effect; ``days`` may be fractional (compressed schedules)."""
    n, K = days.shape
    state = _inc_state(n, K)
    for k in range(K):
        _inc_step(p, m, state, k, days[:, k], active[:, k] & mn[:, k], depth[:, k], response,
                  ceiling)
    return state["inc"]


def _inc_state(n: int, K: int) -> dict:
    return {"committed": np.zeros(n), "last": np.full(n, np.nan), "done": np.zeros(n),
            "inc": np.zeros((n, K))}


def _inc_step(p: SimParams, m: str, state: dict, k: int, t, use, depth_k, response, ceiling):
    """Slot ``k`` of :func:`_increments`: commit the benefit of the sessions ``use`` on days
    ``t``, given the sessions before (the same arithmetic whether run in one go or slot by slot as
    the schedule unfolds, so the severity seen at a session is the one recorded later)."""
    if not use.any():
        return
    committed, last, done = state["committed"], state["last"], state["done"]
    n = len(t)
    lam = math.log(2) / p.fade_half_life_days
    gap = t - last
    has_prev = ~np.isnan(last)
    decay = np.where(has_prev, np.exp(-lam * np.where(has_prev, gap, 0.0)), 1.0)
    c_now = committed * decay
    g = np.ones(n)
    if has_prev.any():
        short = np.clip((p.bunch_gap_days - gap) / p.bunch_gap_days, 0, 1)
        allowed = np.where(done < p.consolidation_sessions, p.lapse_gap_loading,
                           p.lapse_gap_maintenance)
        long = np.clip((gap - allowed) / p.lapse_penalty_days, 0, 1)
        g = np.where(has_prev, 1 - p.consistency_bunch * short - p.consistency_lapse * long, 1)
    efficacy = np.clip(p.gain_fraction[m] * response * (1 + p.depth_effect * (depth_k - 1.5))
                       * np.clip(g, 0, None), 0, 0.95)
    step = np.where(use, efficacy * np.maximum(ceiling - c_now, 0.0), 0.0)
    state["inc"][:, k] = step
    state["committed"] = np.where(use, c_now + step, committed)
    state["last"] = np.where(use, t, last)
    state["done"] = done + use


def _severity(p: SimParams, bio: dict, m: str, sched_days, active, mn, depth, rows, at_days,
              inc=None):
    """Noise-free severity of measure ``m`` for patient ``rows`` at ``at_days`` (since t0)."""
    if inc is None:
        inc = _increments(p, m, sched_days, active, mn, depth, bio["response"], bio["ceiling"][m])
    lam = math.log(2) / p.fade_half_life_days
    u = at_days[:, None] - sched_days[rows]                           # (rows, K)
    pos = u > 0
    up = np.where(pos, u, 0.0)
    kernel = np.where(pos, (1 - np.exp(-up / p.onset_days)) * np.exp(-lam * up), 0.0)
    benefit = (inc[rows] * kernel).sum(axis=1)
    value = bio["s0"][m][rows] + p.natural_drift_per_year * at_days / 365.25 - benefit
    if m == "pore":
        hf = active & ~mn
        lam_h = math.log(2) / p.hydrafacial_half_life_days
        clean = (hf[rows] * pos * np.exp(-lam_h * up)).sum(axis=1) * p.hydrafacial_gain
        value = value - bio["clog"][rows] * np.minimum(clean, 1.0)
    return value


# ---------------------------------------------------------------------------------------------
# assessments
# ---------------------------------------------------------------------------------------------

def _draw_observation(rng, n: int, p: SimParams, pt: dict) -> dict:
    """Everything about the ratings that does not depend on the schedule, drawn up front: the
    baseline visit, which sessions get a rating, the review days and their attendance draws, and
    the rater noise of every possible rating (so the rating a decision looked at is the one
    written to the records)."""
    K = _MAX_SESSIONS
    has_b = rng.random(n) < p.baseline_share
    on_t0 = rng.random(n) < p.baseline_on_t0_share
    before = rng.integers(1, _BASELINE_WINDOW + 1, n)
    early = rng.random(n) < p.early_consultation_share
    early_day = -rng.integers(_BASELINE_WINDOW + 5, 91, n)
    b_day = np.where(has_b, np.where(on_t0, 0, -before), early_day)
    keep_b = has_b | early
    u_rate = rng.random((n, K))
    months = np.asarray(p.review_months, dtype=float)
    R = len(months)
    rev = np.round(months[None, :] * _DAYS_PER_MONTH
                   + p.review_sd_days * rng.standard_normal((n, R)))
    attend = rng.random((n, R)) < p.review_attendance
    u_lost, u_loss_response = rng.random((n, R)), rng.random((n, R))
    clin_bias = p.clinician_bias_sd * rng.standard_normal(p.n_clinics * p.clinicians_per_clinic)
    eps = {m: {"base": rng.standard_normal(n), "sess": rng.standard_normal((n, K)),
               "rev": rng.standard_normal((n, R))} for m in _MEASURES}
    six = np.nonzero(np.isclose(months, _LANDMARK_DAYS / _DAYS_PER_MONTH, atol=0.05))[0]
    return {"b_day": b_day, "keep_b": keep_b, "u_rate": u_rate, "rev": rev, "attend": attend,
            "u_lost": u_lost, "u_loss_response": u_loss_response,
            "bias": clin_bias[pt["main_clinician"]], "eps": eps,
            "six": int(six[0]) if len(six) else -1}


def _baseline_ratings(p: SimParams, bio: dict, obs: dict) -> dict:
    """The pre-treatment rating as recorded (baseline or early consultation; NaN without one),
    per measure: before any session, with the flare, rater noise, clinician bias and rounding."""
    n = len(obs["b_day"])
    none = np.zeros((n, 1), dtype=bool)
    return {m: np.where(obs["keep_b"], _recorded(
        p, _severity(p, bio, m, np.zeros((n, 1)), none, none, np.ones((n, 1)), np.arange(n),
                     obs["b_day"].astype(float), inc=np.zeros((n, 1))),
        obs["bias"], obs["eps"][m]["base"], bio["flare"][m]), np.nan) for m in _MEASURES}


def _indication(p: SimParams, bio: dict, base: dict) -> np.ndarray:
    """z-score of the baseline that attendance responds to (``indication_source``)."""
    seen = np.mean([bio["s0"][m] + bio["flare"][m] for m in _MEASURES], axis=0)
    if p.indication_source == "recorded":
        rec = np.mean([base[m] for m in _MEASURES], axis=0)
        seen = np.where(np.isnan(rec), seen, rec)
    return (seen - seen.mean()) / (seen.std() or 1.0)


def _recorded(p: SimParams, true, bias, eps, flare=0.0):
    """A clinician's face rating as written to the records: rater noise, rounding, clipping."""
    return _round(true + flare + bias + p.rater_sd * eps, p)


def _delta(p: SimParams, base: dict, latest: dict) -> np.ndarray:
    """Recorded improvement since the recorded baseline (``response_measure``)."""
    if p.response_measure == "mean":
        return np.mean([base[m] - latest[m] for m in _MEASURES], axis=0)
    return base[p.response_measure] - latest[p.response_measure]


def _run_schedule(p: SimParams, bio: dict, plan: dict, obs: dict, t0) -> dict:
    """Unfold every patient's schedule slot by slot (vectorised over patients).

    At session k (k ≥ 1) the severity on its day depends only on sessions before k; its rating
    (taken before the session, when ``u_rate`` says it is rated) and any review since the
    previous session are recorded; then the decision about session k+1 is taken from the
    recorded baseline and the latest recorded rating (:func:`_delta`): stop
    (``response_stop``), stretch the next gap (``response_spacing``) — nothing from the future.
    Reviews after the last session are recorded at the end. A review is missed when not attended
    (``review_attendance``), after more than 90 days without a session (``followup_loss``) or
    after a recorded non-response (``loss_response``) — all decided from the past.
    """
    n, K = plan["gaps"].shape[0], _MAX_SESSIONS
    R = obs["rev"].shape[1]
    mn, depth, resp = ~plan["hydra"], plan["depth"], bio["response"]
    days = np.zeros((n, K))
    alive = np.zeros((n, K), dtype=bool)
    alive[:, 0] = True
    states = {m: _inc_state(n, K) for m in _MEASURES}
    base = obs["base"]
    latest = {m: base[m].copy() for m in _MEASURES}
    has_post = np.zeros(n, dtype=bool)
    rated = np.zeros((n, K), dtype=bool)
    rat_sess = {m: np.full((n, K), np.nan) for m in _MEASURES}
    rev_done = np.zeros((n, R), dtype=bool)
    rev_att = np.zeros((n, R), dtype=bool)
    rat_rev = {m: np.full((n, R), np.nan) for m in _MEASURES}
    delta_at = np.full((n, K), np.nan)
    stopped = np.zeros(n, dtype=bool)
    space = np.zeros(n, dtype=bool)
    reason = plan["reason"].copy()

    def rate(rows, at, target, col):
        for m in _MEASURES:
            true = _severity(p, bio, m, days, alive, mn, depth, rows, at, inc=states[m]["inc"])
            eps = obs["eps"][m]["sess" if target is rat_sess else "rev"][rows, col]
            target[m][rows, col] = latest[m][rows] = _recorded(p, true, obs["bias"][rows], eps)
        has_post[rows] = True

    def review(j, sel, last_session):
        lost = (obs["rev"][:, j] > last_session + 90) & (obs["u_lost"][:, j] < p.followup_loss)
        d = _delta(p, base, latest)
        gone = has_post & (d <= p.response_stop_delta) & (obs["u_loss_response"][:, j]
                                                           < p.loss_response)
        rev_done[sel, j] = True
        att = sel & obs["attend"][:, j] & ~gone & ~lost
        rows = np.nonzero(att)[0]
        rev_att[rows, j] = True
        if len(rows):
            rate(rows, obs["rev"][rows, j], rat_rev, j)

    def commit(k):
        for m in _MEASURES:
            _inc_step(p, m, states[m], k, days[:, k], alive[:, k] & mn[:, k], depth[:, k], resp,
                      bio["ceiling"][m])

    commit(0)
    for k in range(1, K):
        gap = plan["gaps"][:, k - 1]
        days[:, k] = days[:, k - 1] + np.where(space, np.round(gap * p.response_spacing), gap)
        alive[:, k] = alive[:, k - 1] & (k < plan["planned_stop"]) & ~stopped
        a = alive[:, k]
        if not a.any():
            days[:, k + 1:] = days[:, [k]] + np.cumsum(plan["gaps"][:, k:], axis=1)
            break
        for j in range(R):
            sel = a & ~rev_done[:, j] & (obs["rev"][:, j] <= days[:, k])
            if sel.any():
                review(j, sel, days[:, k - 1])
        rows = np.nonzero(a & (obs["u_rate"][:, k] < p.rate_at_session_share))[0]
        rated[rows, k] = True
        if len(rows):
            rate(rows, days[rows, k], rat_sess, k)
        d = _delta(p, base, latest)
        ok = a & has_post & ~np.isnan(d)
        delta_at[:, k] = np.where(ok, d, np.nan)
        stop_now = ok & (d <= p.response_stop_delta) & (plan["u_stop"][:, k] < p.response_stop)
        stop_now &= k + 1 < plan["planned_stop"]
        reason = np.where(stop_now & (reason == "none"), "response", reason)
        stopped |= stop_now
        space = ok & (d >= p.response_space_delta) & (plan["u_space"][:, k]
                                                        < p.response_space_prob)
        commit(k)
    n_sess = alive.sum(axis=1)
    last_day = days[np.arange(n), n_sess - 1]
    for j in range(R):
        review(j, ~rev_done[:, j], last_day)
    return {"days": days, "active": alive, "stop": n_sess, "reason": reason, "rated": rated,
            "rat_sess": rat_sess, "rev_att": rev_att, "rat_rev": rat_rev, "base": base,
            "delta_at": delta_at, "inc": {m: states[m]["inc"] for m in _MEASURES}}


def _assessment_rows(obs: dict, run: dict, t0, end_day: int):
    """Clinician face assessments: (patient row, day since t0, recorded rating per measure, rater
    noise per measure), sorted, one per patient-day (baseline visit, then a session's rating,
    then a review, on the same day), none after the window."""
    b = np.nonzero(obs["keep_b"])[0]
    rs, cs = np.nonzero(run["rated"])
    rr, cr = np.nonzero(run["rev_att"])
    pat = np.concatenate([b, rs, rr]).astype(np.int64)
    day = np.concatenate([obs["b_day"][b], run["days"][rs, cs], obs["rev"][rr, cr]]).astype(np.int64)
    vals = {m: np.concatenate([run["base"][m][b], run["rat_sess"][m][rs, cs],
                               run["rat_rev"][m][rr, cr]]) for m in _MEASURES}
    eps = {m: np.concatenate([obs["eps"][m]["base"][b], obs["eps"][m]["sess"][rs, cs],
                              obs["eps"][m]["rev"][rr, cr]]) for m in _MEASURES}
    ok = t0[pat] + day <= end_day
    order = np.nonzero(ok)[0]
    order = order[np.lexsort((day[order], pat[order]))]
    pat, day = pat[order], day[order]
    first = np.ones(len(pat), dtype=bool)
    first[1:] = (pat[1:] != pat[:-1]) | (day[1:] != day[:-1])
    keep = order[first]
    return (pat[first], day[first], {m: vals[m][keep] for m in _MEASURES},
            {m: eps[m][keep] for m in _MEASURES})


def _baseline_landmark(pat: np.ndarray, day: np.ndarray, n: int):
    """docs/methods.md §2 on the primary ratings: index of the baseline (latest in [t0-30, t0]) and of the
    landmark (closest to t0+182 within ±45 days, tie → earlier) per patient, -1 when missing."""
    base = np.full(n, -1)
    inb = np.nonzero((day >= -_BASELINE_WINDOW) & (day <= 0))[0]
    base[pat[inb]] = inb                       # rows sorted by (patient, day): last wins = latest
    land = np.full(n, -1)
    dist = np.abs(day - _LANDMARK_DAYS)
    inl = np.nonzero(dist <= _LANDMARK_WINDOW)[0]
    order = inl[np.lexsort((day[inl], dist[inl], pat[inl]))]
    firsts = order[np.r_[True, pat[order][1:] != pat[order][:-1]]] if len(order) else order
    land[pat[firsts]] = firsts
    return base, land


def _round(x: np.ndarray, p: SimParams) -> np.ndarray:
    if p.rating_step > 0:
        x = np.round(x / p.rating_step) * p.rating_step
    else:
        x = np.round(x, 6)
    return np.clip(x, p.scale_min, p.scale_max) + 0.0


# ---------------------------------------------------------------------------------------------
# the truth
# ---------------------------------------------------------------------------------------------

def _n_before(days, active, limit):
    return ((days < limit[:, None]) & active).sum(axis=1)


def _linear_improvement(p: SimParams, m: str, spm, rest):
    return p.linear_beta[m] * spm + rest[m]


def _truth(p: SimParams, bio, sched, mn, land_day, analysed, rest):
    """Central finite difference over time-compressed schedules (common random numbers)."""
    days, depth = sched["days"], sched["depth"]
    K = days.shape[1]
    active = np.arange(K)[None, :] < sched["stop"][:, None]
    n = len(land_day)
    rows = np.arange(n)
    h = p.truth_step
    out = []
    per = {}
    for c in (1 + h, 1 / (1 + h)):
        d = days / c
        cnt = _n_before(d, active, land_day)
        spm = cnt * _DAYS_PER_MONTH / land_day
        imp = {}
        for m in _MEASURES:
            if p.scenario == "linear":
                imp[m] = _linear_improvement(p, m, spm, rest)
            else:
                imp[m] = bio["s0"][m] - _severity(p, bio, m, d, active, mn, depth, rows,
                                                  land_day.astype(float))
        per[c] = (spm, imp)
    (spm_hi, imp_hi), (spm_lo, imp_lo) = per[1 + h], per[1 / (1 + h)]
    # the same pre-landmark sessions, first and last kept, the ones between evenly spaced
    cnt = _n_before(days, active, land_day)
    last = days[rows, np.maximum(cnt - 1, 0)]
    k = np.arange(K)[None, :]
    even = np.where(k < cnt[:, None], k * (last / np.maximum(cnt - 1, 1))[:, None], days)
    for m in _MEASURES:
        for label, sel in (("frequency_effect", np.ones(n, dtype=bool)),
                           ("frequency_effect_analysed", analysed)):
            dspm = (spm_hi - spm_lo)[sel].sum()
            dimp = (imp_hi[m] - imp_lo[m])[sel].sum()
            value = dimp / dspm if dspm > 0 else float("nan")
            out.append((m, label, value, int(sel.sum()), "crn_time_compression"))
        if p.scenario == "realistic":
            sel = analysed & (cnt >= 3)
            now = _severity(p, bio, m, days, active, mn, depth, rows, land_day.astype(float))
            ev = _severity(p, bio, m, even, active, mn, depth, rows, land_day.astype(float))
            out.append((m, "regularity_effect_analysed", float((now - ev)[sel].mean())
                        if sel.any() else float("nan"), int(sel.sum()), "crn_even_spacing"))
    return pd.DataFrame(out, columns=["measure", "estimand", "value", "n", "method"])


# ---------------------------------------------------------------------------------------------
# simulate
# ---------------------------------------------------------------------------------------------

def simulate(n_patients: int = DEMO_PATIENTS, *, seed: int | None = DEMO_SEED,
             params: SimParams | None = None) -> Simulation:
    """Simulate a clinic's two years of records with a known truth.

    Parameters
    ----------
    n_patients : int
        Number of patients (each has at least one session).
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`; the same seed and params give identical records.
    params : SimParams, optional
        The clinic; default ``SimParams()`` (the realistic demo clinic).

    Returns
    -------
    Simulation
        ``sessions``, ``assessments``, ``patients`` (docs/methods.md §1 format), ``measures``, ``truth``,
        ``latent``.

    Notes
    -----
    **The estimand** (docs/methods.md §2, per measure, primary ratings). For patient *i* with first session
    t0 and landmark date L_i (the primary assessment closest to t0 + 182 d within ±45 d; for
    patients without one L_i = t0 + 182 d), ``n_i`` = sessions in [t0, L_i),
    ``spm_i = n_i * 30.4375 / (L_i - t0)`` and ``improvement_i = S_i(t0) - S_i(L_i)``, the
    noise-free severity drop (rater noise, the baseline flare and rounding are mean-zero or do not
    depend on the schedule, so under common random numbers they cancel).

    The intervention keeps each patient's own attendance pattern, clinician, treatments, depths and
    stopping point but runs it faster or slower: session days ``t0 + (t_k - t0) / c``. With
    ``c± = (1 + h)^±1`` (``h = truth_step``), the truth is the central finite difference over the
    same patients::

        effect = Σ_i [improvement_i(c+) - improvement_i(c-)] / Σ_i [spm_i(c+) - spm_i(c-)]

    i.e. extra landmark improvement per one more session a month, a frequency-weighted average of
    the patients' causal slopes. ``truth`` rows (``method = "crn_time_compression"``):

    - ``frequency_effect``: over all simulated patients;
    - ``frequency_effect_analysed``: over the patients an analysis can use (a baseline within
      [t0 − 30, t0] and a landmark), the population a complete-case estimate targets;
    - ``regularity_effect_analysed`` (realistic scenario, ``method = "crn_even_spacing"``): mean
      change in landmark improvement if the same sessions before the landmark were spaced evenly
      between the first and the last of them (analysed patients with ≥ 3 such sessions) — what
      irregularity costs at the same number of sessions and the same span.

    In the ``linear`` scenario ``improvement_i = beta * spm_i + (terms not depending on the
    schedule)``, so the same computation returns ``beta`` exactly (up to rounding, ~1e-15).

    **How attendance unfolds.** Each patient's pattern (``adherence_shares``, shifted by the
    recorded baseline through ``confounding``) gives planned gaps and a planned number of
    sessions. The schedule is then built slot by slot, for all patients at once: on the day of
    session k ≥ 1 the severity depends only on sessions before k; the rating taken before the
    session (when rated) and any review since the previous session are recorded with their
    pre-drawn rater noise; then, from the recorded baseline B and the latest recorded rating
    Y_latest (Δ = B − Y_latest, ``response_measure``), the patient stops with probability
    ``response_stop`` if Δ ≤ ``response_stop_delta``, or stretches the next gap by
    ``response_spacing`` with probability ``response_space_prob`` if Δ ≥
    ``response_space_delta``. A review is missed with ``loss_response`` after a recorded Δ ≤
    ``response_stop_delta`` and with ``followup_loss`` after more than 90 days without a session.
    Every decision uses only what is recorded at or before it, so attendance and loss are
    sequentially ignorable given the recorded history (baseline rating, covariates, latest
    ratings, time since the last session, sessions so far) — except the latent drop-out of
    biological non-responders (``dropout_nonresponder``), kept as a separate, non-ignorable trap.
    The rating in the records is the very value the decision looked at.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) \
            or n_patients < 1:
        raise ValueError(f"`n_patients` must be a positive integer, but {n_patients!r} was passed.")
    p = params if params is not None else SimParams()
    rng = np.random.default_rng(seed)
    n = int(n_patients)
    end_day = p.window_days - 1
    pt = _draw_patients(rng, n, p)
    design = _covariate_design(pt)
    bio = _draw_biology(rng, n, p, pt, design)
    obs = _draw_observation(rng, n, p, pt)
    obs["base"] = _baseline_ratings(p, bio, obs)
    bio["indication_z"] = _indication(p, bio, obs["base"])
    plan = _draw_plan(rng, n, p, pt, bio)
    late = rng.random(n) < p.late_start_share
    t0 = np.where(late, rng.integers(p.window_days - 182, p.window_days - 14, n),
                  rng.integers(0, p.window_days - 182, n))
    run = _run_schedule(p, bio, plan, obs, t0)
    sched = {**plan, **run}
    active, mn = run["active"], ~plan["hydra"]
    happened = active & (t0[:, None] + run["days"] <= end_day)
    a_pat, a_day, ratings, eps = _assessment_rows(obs, run, t0, end_day)
    # docs/methods.md §2 baseline / landmark on the primary ratings
    b_idx, l_idx = _baseline_landmark(a_pat, a_day, n)
    has_b, has_l = b_idx >= 0, l_idx >= 0
    land_day = np.where(has_l, a_day[np.maximum(l_idx, 0)], _LANDMARK_DAYS).astype(np.int64)
    n_before = _n_before(run["days"], active, land_day)
    spm = n_before * _DAYS_PER_MONTH / land_day
    truth_rest, latent_m = {}, {}
    lin_noise = {m: rng.standard_normal(n) for m in _MEASURES}
    is_base = (a_day <= 0)
    for m in _MEASURES:
        if p.scenario == "linear":
            obs_r = ratings[m]
            base_obs = np.where(has_b, obs_r[np.maximum(b_idx, 0)],
                                _round(bio["s0"][m] + bio["flare"][m], p))
            truth_rest[m] = _linear_rest(p, m, design, base_obs, bio, lin_noise[m], n)
            imp = _linear_improvement(p, m, spm, truth_rest)
            frac = np.clip(a_day / _LANDMARK_DAYS, 0, 1)
            traj = base_obs[a_pat] - imp[a_pat] * frac + p.rater_sd * eps[m] * (a_day > 0)
            traj = np.where(is_base, obs_r, traj)
            traj[l_idx[has_l]] = base_obs[has_l] - imp[has_l]
            ratings[m] = _round(traj, p)
            true_b, true_l = base_obs, base_obs - imp
        else:
            true_b = bio["s0"][m]
            true_l = _severity(p, bio, m, run["days"], active, mn, plan["depth"], np.arange(n),
                               land_day.astype(float), inc=run["inc"][m])
        latent_m[m] = (true_b, true_l)
    analysed = has_b & has_l
    truth = _truth(p, bio, sched, mn, land_day.astype(float), analysed, truth_rest)

    ids = np.array([f"P{i + 1:0{max(4, len(str(n)))}d}" for i in range(n)], dtype=object)
    start = np.datetime64(p.start_date, "D")
    sessions = _sessions_frame(p, sched, happened, ids, t0, start)
    assessments = _assessments_frame(rng, p, bio, sched, pt, ids, t0, start, a_pat, a_day,
                                     ratings, active, mn)
    patients = _patients_frame(p, pt, ids)
    eligible = has_b & (t0 + _LANDMARK_DAYS + _LANDMARK_WINDOW <= end_day)
    six = obs["six"]
    review_day = obs["rev"][:, six].astype(np.int64) if six >= 0 else np.full(n, _LANDMARK_DAYS)
    latent = _latent_frame(p, bio, sched, ids, t0, start, has_b, has_l, land_day, n_before, spm,
                           latent_m, eligible, review_day)
    state = {"bio": bio, "plan": plan, "obs": obs, "run": run, "t0": t0, "eligible": eligible,
             "review_day": review_day, "base_recorded": {m: ratings[m][np.maximum(b_idx, 0)]
                                                         for m in _MEASURES},
             "rest": truth_rest, "has_b": has_b}
    return Simulation(sessions, assessments, patients, p.measures(), truth, latent, p, seed,
                      state)


def _linear_rest(p: SimParams, m: str, design: dict, base_obs, bio, noise, n):
    """``linear`` scenario: the terms of the planted improvement that do not depend on the
    schedule."""
    return (p.linear_intercept[m]
            + p.linear_baseline_coef[m] * (base_obs - p.baseline_mean[m])
            + _linear_combination({"age_decades": design["age_per_decade"],
                                   "smoker_current": design["smoker_current"],
                                   "sun_high": design["sun_high"],
                                   "sleep_hours": design["sleep_per_hour"],
                                   "male": design["male"]},
                                  p.linear_covariate_coefs, n)
            - p.linear_nonresponder_shift * bio["nonresponder"]
            + p.linear_noise_sd * noise)


def _dates(start, days) -> np.ndarray:
    return np.datetime_as_string(start + np.asarray(days, dtype=np.int64).astype("timedelta64[D]"),
                                 unit="D").astype(object)


def _sessions_frame(p, sched, happened, ids, t0, start) -> pd.DataFrame:
    r, c = np.nonzero(happened)
    hydra = sched["hydra"][r, c]
    areas = np.array(_AREA_PATTERNS, dtype=object)[sched["area_pattern"][r]]
    areas = np.where(hydra, _AREA_PATTERNS[0], areas)
    frame = pd.DataFrame({
        "patient_id": ids[r],
        "date": _dates(start, t0[r] + sched["days"][r, c]),
        "treatment": np.where(hydra, "hydrafacial", "microneedling").astype(object),
        "depth_mm": np.where(hydra, np.nan, sched["depth"][r, c]),
        "areas": areas,
        "clinician_id": np.array([f"dr{j + 1:02d}" for j in sched["clinician"][r, c]],
                                 dtype=object),
    })
    return frame.reset_index(drop=True)


def _assessments_frame(rng, p, bio, sched, pt, ids, t0, start, a_pat, a_day, ratings, active,
                       mn) -> pd.DataFrame:
    n_a = len(a_pat)
    parts = [pd.DataFrame({"pat": a_pat, "day": a_day, "region": "face", "rater": "clinician",
                           **{m: ratings[m] for m in _MEASURES}})]
    # region ratings beside some clinician assessments
    with_regions = np.nonzero(rng.random(n_a) < p.region_rating_share)[0]
    for region in _REGIONS:
        vals = {}
        for m in _MEASURES:
            base = ratings[m][with_regions]
            off = p.region_offsets[m][region]
            vals[m] = _round(base + off + p.region_sd * rng.standard_normal(len(with_regions)), p)
        parts.append(pd.DataFrame({"pat": a_pat[with_regions], "day": a_day[with_regions],
                                   "region": region, "rater": "clinician",
                                   **vals}))
    # patient self-ratings
    with_self = np.nonzero(rng.random(n_a) < p.patient_rating_share)[0]
    vals = {}
    for m in _MEASURES:
        true = _severity(p, bio, m, sched["days"].astype(float), active, mn, sched["depth"],
                         a_pat[with_self], a_day[with_self].astype(float))
        if p.scenario == "linear":
            true = ratings[m][with_self]
        vals[m] = _round(true - p.patient_optimism * (a_day[with_self] > 0)
                         + p.patient_rating_sd * rng.standard_normal(len(with_self)), p)
    parts.append(pd.DataFrame({"pat": a_pat[with_self], "day": a_day[with_self], "region": "face",
                               "rater": "patient", **vals}))
    frame = pd.concat(parts, ignore_index=True)
    region_rank = {"face": 0, **{r: i + 1 for i, r in enumerate(_REGIONS)}}
    frame["_r"] = frame["rater"].map({"clinician": 0, "patient": 1})
    frame["_g"] = frame["region"].map(region_rank)
    frame = frame.sort_values(["pat", "day", "_r", "_g"], kind="stable")
    out = pd.DataFrame({
        "patient_id": ids[frame["pat"].to_numpy()],
        "date": _dates(start, t0[frame["pat"].to_numpy()] + frame["day"].to_numpy()),
        "region": frame["region"].to_numpy(dtype=object),
        "rater": frame["rater"].to_numpy(dtype=object),
        **{m: frame[m].to_numpy(dtype=float) for m in _MEASURES},
    })
    return out.reset_index(drop=True)


def _patients_frame(p, pt, ids) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ids,
        "age": pt["age"].astype(float),
        "sex": pt["sex"],
        "skin_type": pt["skin_type"].astype(np.int64),
        "smoker": pt["smoker"],
        "sun_exposure": pt["sun"],
        "sleep_hours": pt["sleep"].astype(float),
        "skincare": pt["skincare"],
        "concern": pt["concern"],
        "clinic_id": np.array([f"clinic_{chr(97 + c)}" for c in pt["clinic"]], dtype=object),
    })


def _latent_frame(p, bio, sched, ids, t0, start, has_b, has_l, land_day, n_before, spm,
                  latent_m, eligible, review_day) -> pd.DataFrame:
    stop = sched["stop"]
    frame = pd.DataFrame({
        "patient_id": ids,
        "adherence": sched["adherence"],
        "n_loading": sched["n_load"],
        "planned_sessions": stop,
        "dropout": sched["reason"] != "none",
        "dropout_reason": sched["reason"],
        "nonresponder": bio["nonresponder"],
        "response": bio["response"],
        "indication_z": bio["indication_z"],
        "t0": _dates(start, t0),
        "has_baseline": has_b,
        "has_landmark": has_l,
        "landmark_date": np.where(has_l, _dates(start, t0 + land_day), None),
        "n_sessions": np.where(has_l, n_before, -1),
        "sessions_per_month": np.where(has_l, spm, np.nan),
        "eligible": eligible,
        "review_date": _dates(start, t0 + review_day),
    })
    for m in _MEASURES:
        true_b, true_l = latent_m[m]
        frame[f"true_baseline_{m}"] = true_b
        frame[f"true_landmark_{m}"] = true_l
        frame[f"true_improvement_{m}"] = true_b - true_l
        frame[f"ceiling_{m}"] = bio["ceiling"][m]
    return frame


# ---------------------------------------------------------------------------------------------
# the schedule comparison: who follows which strategy, and the truth of every strategy
# ---------------------------------------------------------------------------------------------

def _strategy_dict(strategies) -> dict:
    from ..tables.strategies import default_strategies

    if strategies is None:
        return default_strategies()
    if isinstance(strategies, dict):
        return dict(strategies)
    return {s.name: s for s in strategies}


def follows_strategy(days, active, landmark_day, strategy) -> np.ndarray:
    """Whether each record follows ``strategy`` up to its landmark day (docs/methods.md §4).

    ``days`` (patients × slots, days since t0, increasing where ``active``) are the sessions of
    every treatment. A record deviates at a session before the landmark that comes outside the
    window ``[prev + lo, prev + hi]`` of :meth:`Strategy.window` (too early, or after the window
    closed), or when a window closes (``prev + hi < landmark_day``) with no session in it;
    ``single`` allows no session after the first before the landmark.
    """
    days = np.asarray(days, dtype=float)
    land = np.asarray(landmark_day, dtype=float)
    n, K = days.shape
    before = np.asarray(active, dtype=bool) & (days < land[:, None])
    ok = np.ones(n, dtype=bool)
    going = np.ones(n, dtype=bool)        # still inside the record before the landmark
    for k in range(1, K):
        window = strategy.window(k)
        has = before[:, k]
        if window is None:
            ok &= ~(going & has)
            break
        lo, hi = window
        gap = days[:, k] - days[:, k - 1]
        ok &= ~(going & has & ((gap < lo) | (gap > hi)))
        ok &= ~(going & ~has & (days[:, k - 1] + hi < land))
        going &= has
        if not going.any():
            break
    return ok


def _forced_days(strategy, jitter, sd: float, landmark_day):
    """Session days of ``strategy`` forced on every patient: the next session is due
    ``interval + e_k`` after the previous one, ``e_k = clip(round(sd · z_k), −tol, tol)`` with the
    patient's own draw ``z_k`` (the same for every strategy), up to (not on) the landmark day."""
    n, K = jitter.shape
    days = np.zeros((n, K))
    active = np.zeros((n, K), dtype=bool)
    active[:, 0] = True
    for k in range(1, K):
        window = strategy.window(k)
        if window is None:
            break
        lo, hi = window
        tol = (hi - lo) // 2
        e = np.clip(np.round(sd * jitter[:, k]), -tol, tol)
        days[:, k] = days[:, k - 1] + (lo + hi) // 2 + e
        active[:, k] = active[:, k - 1] & (days[:, k] < landmark_day)
        if not active[:, k].any():
            break
    return days, active


def _forced_improvement(sim: Simulation, days, active) -> dict:
    """Per patient and measure, the improvement the clinic would record at the 6-month review
    day (as drawn) had the sessions come on ``days`` (``active``), every other draw kept: the
    recorded baseline minus the landmark rating (same rater noise, bias, rounding)."""
    st, p = sim.state, sim.params
    bio, plan, obs = st["bio"], st["plan"], st["obs"]
    land = st["review_day"].astype(float)
    n = len(land)
    out = {}
    for m in _MEASURES:
        if p.scenario == "linear":
            cnt = _n_before(days, active, land)
            out[m] = _linear_improvement(p, m, cnt * _DAYS_PER_MONTH / land, st["rest"])
            continue
        true = _severity(p, bio, m, days, active, ~plan["hydra"], plan["depth"], np.arange(n),
                         land)
        six = obs["six"]
        eps = obs["eps"][m]["rev"][:, six] if six >= 0 else np.zeros(n)
        out[m] = st["base_recorded"][m] - _recorded(p, true, obs["bias"], eps)
    return out


def strategy_truth(sim: Simulation, strategies=None) -> pd.DataFrame:
    """The interventional truth of every strategy, by forcing it on the same eligible patients.

    Parameters
    ----------
    sim : Simulation
        A clinic from :func:`simulate`.
    strategies : dict or iterable of Strategy, optional
        Default :func:`outcomes.strategies.default_strategies`.

    Returns
    -------
    DataFrame
        ``strategy, measure, mean_improvement, n``: one row per strategy and measure, then the
        contrasts ``"A - every_2_months"`` for every other strategy A (the reference is
        ``every_2_months`` when present, else the first strategy) and ``"protocol - single"``.

    Notes
    -----
    **The estimand** (docs/methods.md §4). Eligible patients E: a baseline rating in [t0 − 30, t0] and
    t0 + 182 + 45 ≤ the last day of the records window. For strategy g::

        μ_g = (1/|E|) Σ_{i∈E} [ B_i − Y_i^g ]

    with B_i the baseline rating as recorded (flare, rater noise, clinician bias, rounding) and
    Y_i^g the face rating the clinic would record at the landmark under g.

    **Common random numbers.** Each patient keeps every draw of :func:`simulate` — biology,
    per-slot treatment (HydraFacial or microneedling), needle depth, clinician bias, and the rater
    noise of their 6-month review — and only the session days change. Under g the sessions are
    ``d_0 = 0``, ``d_k = d_{k−1} + interval_k + e_ik`` with ``interval_k ± tol_k`` the window of
    :meth:`Strategy.window(k) <outcomes.strategies.Strategy.window>`,
    ``e_ik = clip(round(strategy_jitter_sd · z_ik), −tol_k, tol_k)`` and ``z_ik`` the patient's
    own standard-normal draw for slot k (shared by all strategies), kept while ``d_k < L_i``;
    ``L_i`` is the day of the patient's 6-month review as drawn (attended or not), so the
    landmark does not depend on attendance. Then::

        Y_i^g = clip(round_0.5(S_i^g(L_i) + b_i + σ ε_i)),

    S_i^g the noise-free severity under the forced sessions, b_i the clinician bias, ε_i the
    review's rater-noise draw. Contrasts are means of the per-patient differences over the same
    E (exactly the difference of the means). An unbiased estimator of the mean improvement at the
    landmark under g among the eligible patients targets μ_g (the landmark rating of an analysis
    is the one closest to t0 + 182 within ±45 days, mostly this review; forced timings lie inside
    the grace windows like a follower's). How close: in the trap-free ``simple`` clinic (20,000
    patients) followers' recorded texture improvement minus their own forced truth is −0.017
    (protocol), −0.018 (every_2_months), −0.008 (monthly), −0.002 (single) grades — the
    followers' own timings and, mostly, landmarks that are a session-day rating (taken before a
    session near day 182, which then does not count) rather than the review.

    In the ``linear`` scenario ``B_i − Y_i^g = beta · spm_i^g + rest_i`` with
    ``spm_i^g = n_i^g · 30.4375 / L_i`` (n_i^g forced sessions before L_i), the planted line.
    """
    strategies = _strategy_dict(strategies)
    st, p = sim.state, sim.params
    el = st["eligible"]
    n_el = int(el.sum())
    per = {}
    for name, strat in strategies.items():
        days, active = _forced_days(strat, st["plan"]["jitter"], p.strategy_jitter_sd,
                                    st["review_day"])
        per[name] = _forced_improvement(sim, days, active)
    rows = []
    for name in strategies:
        for m in _MEASURES:
            rows.append((name, m, float(per[name][m][el].mean()) if n_el else math.nan, n_el))
    names = list(strategies)
    ref = "every_2_months" if "every_2_months" in strategies else names[0]
    pairs = [(a, ref) for a in names if a != ref]
    if "protocol" in strategies and "single" in strategies:
        pairs.append(("protocol", "single"))
    for a, b in pairs:
        for m in _MEASURES:
            diff = (per[a][m] - per[b][m])[el]
            rows.append((f"{a} - {b}", m, float(diff.mean()) if n_el else math.nan, n_el))
    return pd.DataFrame(rows, columns=["strategy", "measure", "mean_improvement", "n"])


def strategy_followers(sim: Simulation, strategies=None) -> pd.DataFrame:
    """Which patients follow which strategy to their landmark, from the simulated schedules.

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``, ``eligible`` (docs/methods.md §4), ``has_landmark`` and one
        boolean column per strategy: the record follows it (:func:`follows_strategy`) up to the
        landmark rating's day (t0 + 182 without one). Count followers to the landmark with
        ``df[df.eligible & df.has_landmark][names].sum()``.
    """
    strategies = _strategy_dict(strategies)
    st, lat = sim.state, sim.latent
    land = (pd.to_datetime(lat["landmark_date"]) - pd.to_datetime(lat["t0"])).dt.days
    land = land.fillna(_LANDMARK_DAYS).to_numpy(dtype=float)
    out = pd.DataFrame({"patient_id": lat["patient_id"], "eligible": st["eligible"],
                        "has_landmark": lat["has_landmark"].to_numpy()})
    for name, strat in strategies.items():
        out[name] = follows_strategy(st["run"]["days"], st["run"]["active"], land, strat)
    return out


def _strategy_scenarios(cls) -> dict[str, SimParams]:
    base = cls()
    simple = dataclasses.replace(
        base, confounding=0.0, dropout_nonresponder=0.0, followup_loss=0.0,
        fade_half_life_days=math.inf, consistency_bunch=0.0, consistency_lapse=0.0,
        **_NO_RESPONSE)
    fading = {"fade_half_life_days": base.fade_half_life_days,
              "consistency_bunch": base.consistency_bunch,
              "consistency_lapse": base.consistency_lapse}
    return {
        "simple": simple,
        "confounding": dataclasses.replace(simple, confounding=base.confounding),
        "response_attendance": dataclasses.replace(
            simple, response_stop=base.response_stop,
            response_space_prob=base.response_space_prob),
        "informative_loss": dataclasses.replace(simple, loss_response=base.loss_response,
                                                followup_loss=base.followup_loss),
        "latent_dropout": dataclasses.replace(simple,
                                              dropout_nonresponder=base.dropout_nonresponder),
        "fading_saturation": dataclasses.replace(simple, **fading),
        "ignorable_traps": dataclasses.replace(base, dropout_nonresponder=0.0),
        "all_traps": base,
    }


#: Named clinics for benchmarking the schedule comparison (docs/methods.md §4), from
#: :meth:`SimParams.strategy_scenarios`. The strategies' truth (:func:`strategy_truth`) depends on
#: the biology and the measurement only, so it is the same in every scenario with the same fading
#: (the same seed gives the same patients): the scenarios differ in who follows which strategy.
#:
#: - ``simple``: the realistic biology without any trap of attendance — no confounding, no
#:   attendance or loss driven by the ratings, no latent drop-out, no loss after stopping, no
#:   fading and no consistency effect (saturation stays: it is how the skin responds). Rater
#:   noise, the baseline flare and rounding stay too (the truth is on the recorded scale).
#: - ``confounding``: + confounding by indication (worse-looking skin, more frequent patterns).
#: - ``response_attendance``: + stopping / spacing out on the recorded ratings.
#: - ``informative_loss``: + missed reviews after a recorded non-response and after stopping.
#: - ``latent_dropout``: + biological non-responders stop after 2–3 sessions (not ignorable
#:   given the records: the estimator is expected to be somewhat off here).
#: - ``fading_saturation``: + fading without maintenance and the consistency effect.
#: - ``ignorable_traps``: every trap that the recorded history explains (``all_traps`` without
#:   the latent drop-out): an estimator with correct models should be unbiased here.
#: - ``all_traps``: the realistic demo clinic, ``SimParams()``.
STRATEGY_SCENARIOS: dict[str, SimParams] = _strategy_scenarios(SimParams)


# ---------------------------------------------------------------------------------------------
# a fixed protocol on the simulated population
# ---------------------------------------------------------------------------------------------

def protocol_response(session_days, at_day: float, *, n_patients: int = 4000, seed: int = 0,
                      params: SimParams | None = None) -> pd.DataFrame:
    """Mean noise-free improvement if every simulated patient followed one fixed schedule.

    The biology of :func:`simulate` (same patients for the same seed) with everyone receiving
    microneedling on ``session_days`` (days since t0) and rated at ``at_day``; improvement
    ``= S(0) - S(at_day)`` per measure, averaged over patients. Used to check the literature
    anchors, e.g. Ablon 2018: four sessions 30 days apart, texture −1.54 grades at day 150.

    Returns
    -------
    DataFrame
        ``measure, mean_improvement, sd, n``.
    """
    p = params if params is not None else SimParams()
    rng = np.random.default_rng(seed)
    pt = _draw_patients(rng, n_patients, p)
    bio = _draw_biology(rng, n_patients, p, pt, _covariate_design(pt))
    days = np.asarray(session_days, dtype=float)[None, :].repeat(n_patients, axis=0)
    active = np.ones(days.shape, dtype=bool)
    depth = np.full(days.shape, 1.5)
    rows = np.arange(n_patients)
    out = []
    for m in _MEASURES:
        imp = bio["s0"][m] - _severity(p, bio, m, days, active, active, depth, rows,
                                       np.full(n_patients, float(at_day)))
        out.append((m, float(imp.mean()), float(imp.std(ddof=1)), n_patients))
    return pd.DataFrame(out, columns=["measure", "mean_improvement", "sd", "n"])


# ---------------------------------------------------------------------------------------------
# the demo
# ---------------------------------------------------------------------------------------------

def demo_simulation() -> Simulation:
    """The simulation behind the shipped ``data/demo`` (``DEMO_PATIENTS``, ``DEMO_SEED``)."""
    return simulate(DEMO_PATIENTS, seed=DEMO_SEED)


# --------------------------------------------------------------------------------------------------
# The demo with mistakes: what a real export's problems look like, at known lines
# --------------------------------------------------------------------------------------------------

#: Mistakes planted by :func:`write_with_mistakes`: (file, data row after which the bad row is
#: inserted, column, bad value or None for an exact copy of the row above, what went wrong). Each
#: bad row is a copy of the row above it with one cell changed, the way a typo or a double entry
#: happens at a reception desk, so the clean demo rows are all still there.
MISTAKES: tuple[tuple[str, int, str, str | None, str], ...] = (
    ("sessions.csv", 120, "date", "2024-02-30", "a date that does not exist"),
    ("sessions.csv", 480, "date", "15/03/2024", "a day-first date in one cell"),
    ("sessions.csv", 910, "date", "2099-05-01", "a date in the future"),
    ("sessions.csv", 1333, "depth_mm", "-1.0", "a negative needle depth"),
    ("sessions.csv", 1777, "depth_mm", "15", "15 mm typed for 1.5 mm"),
    ("sessions.csv", 2210, "patient_id", "", "no patient id"),
    ("sessions.csv", 2650, "date", None, "the same session entered twice"),
    ("assessments.csv", 700, "pore", "5", "a grade above the 0-4 scale"),
    ("assessments.csv", 2900, "texture", "mild", "a word instead of a grade"),
    ("assessments.csv", 4400, "patient_id", "P9999", "a patient not in the records"),
    ("assessments.csv", 6100, "date", "1989-12-31", "a date before 1990"),
    ("assessments.csv", 7700, "region", "neck", "a region the scale does not cover"),
    ("patients.csv", 250, "smoker", "sometimes",
     "the patient above entered again, with a smoking status outside never/former/current"),
)


def write_with_mistakes(path: str | Path, simulation: Simulation | None = None) -> pd.DataFrame:
    """Write the demo records with the :data:`MISTAKES` planted, and return where they are.

    The clean demo (or ``simulation``) is written as by :meth:`Simulation.write`; then each
    planted row is inserted, as text, after its template row. The loader must set aside exactly
    these rows and load every other one, so this folder shows a clinic lead what quarantine looks
    like (notebook 01) and tests the loader against lines known in advance.

    Returns
    -------
    DataFrame
        ``file``, ``line`` (spreadsheet line of the bad row, header = 1), ``column``, ``value``,
        ``mistake`` — one row per planted mistake.
    """
    sim = demo_simulation() if simulation is None else simulation
    path = sim.write(path)
    planted = []
    for file in ("sessions.csv", "assessments.csv", "patients.csv"):
        plan = sorted((m for m in MISTAKES if m[0] == file), key=lambda m: m[1])
        if plan:
            planted += _plant(path / file, plan)
    return pd.DataFrame(planted, columns=["file", "line", "column", "value", "mistake"])


def _plant(file: Path, plan) -> list[tuple]:
    header, *rows = file.read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    out, planted, todo = [header], [], list(plan)
    for i, row in enumerate(rows):
        out.append(row)
        while todo and todo[0][1] == i:
            _, _, column, value, mistake = todo.pop(0)
            cells = row.split(",")
            shown = cells[columns.index(column)] if value is None else value
            if value is not None:
                cells[columns.index(column)] = value
            out.append(",".join(cells))
            planted.append((file.name, len(out), column, shown, mistake))
    if todo:
        raise ValueError(f"{file.name} has too few rows for the planted mistakes")
    file.write_bytes(("\n".join(out) + "\n").encode("utf-8"))
    return planted


# --------------------------------------------------------------------------------------------------
# How close are the estimates to the truth? (only a simulated clinic can tell)
# --------------------------------------------------------------------------------------------------

#: The traps :func:`truth_check` switches off one at a time: label → SimParams fields set to zero.
TRAPS: dict[str, dict[str, float]] = {
    "informative drop-out": {"dropout_nonresponder": 0.0},
    "attendance driven by the recorded ratings": dict(_NO_RESPONSE),
    "confounding by indication": {"confounding": 0.0},
    "flare and noise at baseline": {"baseline_flare_mean": 0.0, "baseline_noise_sd": 0.0},
    "consistency effect": {"consistency_bunch": 0.0, "consistency_lapse": 0.0},
    "rater noise and rounding": {"rater_sd": 0.0, "clinician_bias_sd": 0.0, "rating_step": 0.0},
}


def truth_check(n_patients: int = DEMO_PATIENTS, *, seed: int = DEMO_SEED,
                params: SimParams | None = None, measures=("pore", "texture"),
                traps: bool = True) -> pd.DataFrame:
    """Naive and adjusted estimates beside the simulator's truth, with each trap switched off in turn.

    For the clinic ``simulate(n_patients, seed=seed, params=params)`` (the demo by default) and
    then for the same clinic with each entry of :data:`TRAPS` set to zero, and with all of them off,
    this fits :func:`outcomes.models.naive_effect` and :func:`~outcomes.models.adjusted_effect` and
    sets them beside the truth ``frequency_effect_analysed`` (the interventional effect of one more
    session a month among the patients analysed, see :func:`simulate`).

    Returns
    -------
    DataFrame
        ``scenario`` ("as simulated", "without <trap>", "without any trap"), ``measure``, ``truth``,
        ``naive``, ``adjusted``, ``ci_low``, ``ci_high`` (of the adjusted estimate), ``bias``
        (adjusted − truth), ``covers`` (the adjusted 95 % CI contains the truth), ``n``.
    """
    from ..estimate.effects import adjusted_effect, analysis_table, naive_effect

    base = params or SimParams()
    scenarios = {"as simulated": base}
    if traps:
        scenarios |= {f"without {name}": dataclasses.replace(base, **fields)
                      for name, fields in TRAPS.items()}
        scenarios["without any trap"] = base.without_traps()
    rows = []
    for label, p in scenarios.items():
        sim = simulate(n_patients, seed=seed, params=p)
        records = sim.to_records()
        truth = sim.truth.set_index(["measure", "estimand"])["value"]
        for m in measures:
            table = analysis_table(records, m)
            adj = adjusted_effect(table).set_index("term").loc["sessions_per_month"]
            t = float(truth[(m, "frequency_effect_analysed")])
            rows.append({"scenario": label, "measure": m, "truth": t,
                         "naive": float(naive_effect(table)["estimate"].iloc[0]),
                         "adjusted": float(adj["estimate"]), "ci_low": float(adj["ci_low"]),
                         "ci_high": float(adj["ci_high"]), "bias": float(adj["estimate"]) - t,
                         "covers": bool(adj["ci_low"] <= t <= adj["ci_high"]),
                         "n": int(adj["n"])})
    return pd.DataFrame(rows)
