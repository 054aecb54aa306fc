"""The synthetic clinic's parameters: :class:`SimParams`, every field with where its value comes
from, and the named clinics built from it (:meth:`SimParams.linear`, :data:`STRATEGY_SCENARIOS`).

Every trap an analysis must survive is a parameter that can be set to zero. Also the clinic's
fixed constants: the demo's size and seed, the attendance patterns, the measures.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..records.scales import GRADES, Measure

__all__ = ["ADHERENCE_TYPES", "DEMO_PATIENTS", "DEMO_SEED", "STRATEGY_SCENARIOS", "SimParams"]


#: The shipped demo (``data/demo``): number of patients and seed.
DEMO_PATIENTS = 600
DEMO_SEED = 20240101

ADHERENCE_TYPES = ("protocol", "monthly", "bimonthly", "regular", "bunched", "lapsed", "dropout",
                   "single")


_MEASURES = ("pore", "texture")


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
        strategy of :func:`outcomes.protocols.default_strategies` is followed to the landmark by
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
        levels = GRADES if (self.scale_min, self.scale_max) == (0, 4) else None
        return {m: Measure(m, label(m), float(self.scale_min), float(self.scale_max), "lower", step,
                           levels=levels)
                for m in _MEASURES}


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
