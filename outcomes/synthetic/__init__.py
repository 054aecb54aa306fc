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

The modules:

- :mod:`.params` — :class:`SimParams` (every parameter, with its source) and the named clinics
- :mod:`.biology` — drawing the patients; their skin, attendance and ratings as they unfold;
  :func:`protocol_response`
- :mod:`.truth` — :class:`Simulation`, and the truths: the effect of frequency, every
  strategy's mean improvement (:func:`strategy_truth`), who follows which
  (:func:`strategy_followers`)
- :mod:`.clinic` — :func:`simulate`: the records of ``n`` patients with their truth
- :mod:`.demo` — the shipped demo (:func:`demo_simulation`), :func:`write_with_mistakes`,
  :func:`truth_check`
- :mod:`.export` — a clinic's records written as a practice system exports them
  (:func:`~outcomes.synthetic.export.write_practice_export`: ``data/demo-export``, the tests and
  notebook 00 of docs/methods.md §1.14)
"""

from .biology import protocol_response
from .clinic import ASSESSMENT_COLUMNS, PATIENT_COLUMNS, SESSION_COLUMNS, simulate
from .demo import MISTAKES, TRAPS, demo_simulation, truth_check, write_with_mistakes
from .params import ADHERENCE_TYPES, DEMO_PATIENTS, DEMO_SEED, STRATEGY_SCENARIOS, SimParams
from .truth import Simulation, follows_strategy, strategy_followers, strategy_truth

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
