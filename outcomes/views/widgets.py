"""Interactive controls for the notebooks (ipywidgets).

The notebooks hold no logic: a cell calls one of these functions and gets a box of controls above an
output area. Changing a control builds the :class:`~outcomes.settings.Settings` of the choice and
its :class:`~outcomes.analysis.Analysis` — kept by the widget in a small cache keyed by those
(frozen, hashable) settings, so that moving a slider back does not recompute — and re-draws the
view with it. The view a function starts with is the default one the committed notebook shows.

- :func:`explorer` — the general tool: one control per option, any view function.
- :func:`attendance_explorer` — notebook 02: landmark and protocol.
- :func:`effects_explorer` — notebook 03: measure, region, rater and landmark.
"""

from __future__ import annotations

import base64
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd
from IPython.core.formatters import DisplayFormatter
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis import Analysis
from ..errors import RecordsError, SettingError
from ..present.display import Text
from ..settings import Settings
from .attendance import attendance_view, protocol_choices, protocol_named
from .outcomes import effects_view

__all__ = ["Analyses", "attendance_explorer", "effects_explorer", "explorer"]

#: landmarks offered by the explorers (days after the first session)
LANDMARKS = (91, 182, 273, 365)


class Analyses:
    """The analyses a widget's controls ask for: one per :class:`Settings`, built on first use.

    ``analyses.get(landmark_days=91)`` is the analysis of the base settings with that change; the
    last ``size`` are kept (keyed by their settings), so going back to a choice reuses its tables.

    Parameters
    ----------
    analyses : Analysis or dict of Analysis
        The notebook's analysis (or one per measure): their records, and their settings as the
        base every choice changes; they are the first entries of the cache.
    size : int
        How many analyses the widget keeps.
    """

    def __init__(self, analyses: Analysis | dict[str, Analysis], *, size: int = 8):
        given = list(analyses.values()) if isinstance(analyses, dict) else [analyses]
        if not given or not all(isinstance(a, Analysis) for a in given):
            raise SettingError("A widget needs an outcomes.Analysis (or a dict of them), but "
                               f"{analyses!r} was passed.")
        self.records = given[0].records
        self.base: Settings = given[0].settings
        self.size = size
        self.built = 0  # analyses built by this widget (not counting those it was given)
        self._cache: OrderedDict[Settings, Analysis] = OrderedDict(
            (a.settings, a) for a in given[-size:])

    def get(self, **changes) -> Analysis:
        settings = self.base.replace(**changes)
        if settings in self._cache:
            self._cache.move_to_end(settings)
            return self._cache[settings]
        analysis = Analysis(self.records, settings)
        self.built += 1
        self._cache[settings] = analysis
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return analysis

    def __len__(self) -> int:
        return len(self._cache)


def _items(result: Any) -> list:
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [item for item in items if item is not None]


def _bundle(item: Any) -> tuple[dict, dict]:
    """``(data, metadata)`` of one displayable item, as a notebook output holds it.

    A matplotlib Figure (or Axes) becomes a PNG and is closed; a string is markdown; anything else
    goes through IPython's formatters (HTML for a DataFrame or Styler, plain text always).
    """
    if isinstance(item, Axes):
        item = item.figure
    if isinstance(item, Figure):
        buffer = io.BytesIO()
        item.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(item)
        width, height = (round(v * item.dpi) for v in item.get_size_inches())
        return ({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": f"<Figure size {width}x{height}>"}, {})
    if isinstance(item, str):
        item = Text(item)
    data, metadata = DisplayFormatter().format(item)
    return data, metadata


class Controls:
    """Mixin: what a committed notebook shows where the controls go when no kernel draws them."""

    #: the plain-text stand-in (the widget itself needs a running kernel)
    fallback = "Controls: run the notebook (Run ▸ Run All Cells) to use them."

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.fallback
        return bundle


def _control(name: str, choices: Sequence, description: str | None, default=None):
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or not choices:
        raise RecordsError(f"The value for `{name}` must be a non-empty list of choices, but "
                           f"{choices!r} was passed.")
    if default is None:
        default = choices[0]
    elif default not in choices:
        raise RecordsError(f"The default for `{name}` must be one of {list(choices)}, but "
                           f"{default!r} was passed.")
    label = description or name.replace("_", " ")
    style = {"description_width": "initial"}
    if all(isinstance(c, int) and not isinstance(c, bool) for c in choices) and len(choices) > 2:
        return w.SelectionSlider(options=list(choices), value=default, description=label,
                                 continuous_update=False, style=style)
    return w.Dropdown(options=list(choices), value=default, description=label, style=style,
                      layout=w.Layout(width=dropdown_width(label, choices)))


def dropdown_width(label: str, choices: Sequence) -> str:
    """A drop-down wide enough for its label and its longest choice, so that no choice is cut
    off ("clinic: 3 monthly, then every 3 month…"): one ``ch`` per character, and room for
    the arrow and the padding."""
    longest = max(len(str(c)) for c in choices)
    return f"{len(label) + longest + 8}ch"


def explorer(view: Callable[..., Any], /, *, labels: dict[str, str] | None = None,
             defaults: dict[str, Any] | None = None, render: bool = True,
             **options: Sequence):
    """Controls for ``options`` above an output area showing ``view(**choices)``.

    Parameters
    ----------
    view : callable
        Called with one keyword per option; returns a DataFrame, a Figure or Axes, text, or a
        tuple of them.
    labels : dict, optional
        Label per option (default: the option name with spaces).
    defaults : dict, optional
        The value each control starts at (default: its first choice).
    render : bool, default True
        Draw the default view at once (otherwise at the first change).
    **options : sequence
        Choices per option, in display order. Whole numbers (more than two) get a slider,
        anything else a drop-down list.

    Returns
    -------
    ipywidgets.VBox
        ``.children``: the controls (one row), then the ``Output`` area (also ``box.output``);
        ``box.refresh()`` re-draws. Where no kernel draws the widget (a committed notebook opened
        as it is), its plain text says which controls there are and how to use them.
    """
    if not callable(view):
        raise RecordsError(f"`view` must be a function, but {view!r} was passed.")
    labels, defaults = labels or {}, defaults or {}
    unknown = sorted(set(defaults) - set(options))
    if unknown:
        raise RecordsError(f"`defaults` names options that do not exist: {unknown}; options are "
                           f"{sorted(options)}.")
    controls = {name: _control(name, choices, labels.get(name), defaults.get(name))
                for name, choices in options.items()}
    out = w.Output()

    def refresh(*_):
        # The outputs are set on the Output widget itself, in one update, rather than captured
        # with ``with out:``: captured display messages from a control's callback can miss the
        # cell (a figure then lands in JupyterLab's log console), and a set state also survives
        # in the saved notebook.
        try:
            items = _items(view(**{name: c.value for name, c in controls.items()}))
        except (RecordsError, SettingError) as exc:  # a choice that cannot be answered: say so
            items = [f"**Not available for this choice:** {exc}"]
        outputs = []
        for item in items:
            data, metadata = _bundle(item)
            outputs.append({"output_type": "display_data", "data": data, "metadata": metadata})
        out.outputs = tuple(outputs)

    for c in controls.values():
        c.observe(refresh, names="value")
    box = ControlBox([w.HBox(list(controls.values())), out])
    box.fallback = (f"Controls for {', '.join(labels.get(n, n.replace('_', ' ')) for n in options)}"
                    ": run the notebook (Run ▸ Run All Cells) to use them; the default view is "
                    "shown in the cells above.")
    box.refresh = refresh
    box.controls = controls
    box.output = out
    if render:
        refresh()
    return box


def attendance_explorer(analysis: Analysis, *, landmarks: Sequence[int] = LANDMARKS,
                        protocols: Sequence[str] | None = None):
    """Notebook 02: attendance metrics and protocol adherence for a chosen landmark and protocol.

    Shows :func:`outcomes.views.attendance.attendance_view` (adherence by frequency group and the
    frequency distribution) of the analysis with the chosen ``landmark_days`` and ``protocol`` (a
    name of :func:`outcomes.views.attendance.protocol_choices`); its other settings are those of
    ``analysis``. ``box.analyses`` is the widget's :class:`Analyses`.
    """
    analyses = Analyses(analysis)
    protocols = list(protocols) if protocols is not None else list(protocol_choices())
    box = explorer(lambda landmark_days, protocol: attendance_view(analyses.get(
        landmark_days=landmark_days, protocol=protocol_named(protocol))),
        landmark_days=sorted(landmarks), protocol=protocols,
        labels={"landmark_days": "landmark (days)"}, defaults=_landmark_default(landmarks))
    box.analyses = analyses
    return box


def effects_explorer(analyses: Analysis | dict[str, Analysis], *,
                     measures: Sequence[str] | None = None, regions: Sequence[str] | None = None,
                     raters: Sequence[str] | None = None,
                     landmarks: Sequence[int] = LANDMARKS):
    """Notebook 03: naive vs adjusted effect of frequency for a measure, region, rater, landmark.

    Shows :func:`outcomes.views.outcomes.effects_view` of the analysis with the chosen settings
    (its other settings are those of the first analysis given). The choices offered default to
    what the records hold (measures with ratings, regions and raters present), primary ones
    first. ``box.analyses`` is the widget's :class:`Analyses`.
    """
    cache = Analyses(analyses)
    a = cache.records.assessments
    measures = list(measures) if measures is not None else [
        m for m in cache.records.measures if m in a and a[m].notna().any()]
    rated = rated_pairs(a, measures)
    held = sorted({g for pairs in rated.values() for g, _ in pairs})
    regions = list(regions) if regions is not None else _present(
        pd.Series(held) if held else a["region"], "face")
    raters = list(raters) if raters is not None else _present(a["rater"], "clinician")

    def view(measure, region, rater, landmark_days):
        if (region, rater) not in rated.get(measure, ()):
            who = sorted(r for g, r in rated.get(measure, ()) if g == region)
            return (f"**No {rater} ratings of {measure} on the {region} in these records**, so "
                    "there is nothing to estimate for this choice"
                    + (f"; the {region} was rated by: {', '.join(who)}." if who else
                       f"; nobody rated {measure} on the {region}."))
        return effects_view(cache.get(measure=measure, region=region, rater=rater,
                                      landmark_days=landmark_days))

    box = explorer(view, measure=measures, region=regions, rater=raters,
                   landmark_days=sorted(landmarks), labels={"landmark_days": "landmark (days)"},
                   defaults=_landmark_default(landmarks))
    c = box.controls

    def only_rated(*_):
        """Offer the raters who rated the chosen measure on the chosen region (only pairs the
        records hold); the regions follow the measure."""
        measure = c["measure"].value
        ok_regions = [g for g in regions if any(p[0] == g for p in rated.get(measure, ()))]
        if ok_regions and list(c["region"].options) != ok_regions:
            keep = c["region"].value if c["region"].value in ok_regions else ok_regions[0]
            c["region"].options = ok_regions
            c["region"].value = keep
        ok = [r for r in raters if (c["region"].value, r) in rated.get(measure, ())]
        if ok and list(c["rater"].options) != ok:
            keep = c["rater"].value if c["rater"].value in ok else ok[0]
            c["rater"].options = ok
            c["rater"].value = keep

    c["measure"].observe(only_rated, names="value")
    c["region"].observe(only_rated, names="value")
    only_rated()
    box.analyses = cache
    return box


def rated_pairs(assessments: pd.DataFrame, measures: Sequence[str]) -> dict[str, set]:
    """Per measure, the ``(region, rater)`` pairs with at least one rating of it."""
    out = {}
    for m in measures:
        if m not in assessments:
            continue
        has = assessments[assessments[m].notna()]
        out[m] = set(zip(has["region"].astype("str"), has["rater"].astype("str")))
    return out


class ControlBox(Controls, w.VBox):
    """A ``VBox`` whose plain-text form is :attr:`Controls.fallback`."""


def _present(column: pd.Series, first: str) -> list[str]:
    values = sorted(pd.unique(column.dropna().astype("str")))
    return ([first] if first in values else []) + [v for v in values if v != first]


def _landmark_default(landmarks: Sequence[int], default: int = 182) -> dict[str, int]:
    return {"landmark_days": default} if default in landmarks else {}
