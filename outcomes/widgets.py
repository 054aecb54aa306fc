"""Interactive controls for the notebooks (ipywidgets).

The notebooks hold no logic: a cell calls one of these functions and gets a box of controls above an
output area. Changing a control re-draws the view by calling a package function with the chosen
values. The view a function starts with is the default one the committed notebook shows.

- :func:`explorer` — the general tool: one control per option, any view function.
- :func:`attendance_explorer` — notebook 02: landmark and protocol.
- :func:`effects_explorer` — notebook 03: measure, region, rater and landmark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .errors import RecordsError

__all__ = ["attendance_explorer", "effects_explorer", "explorer", "show"]

#: landmarks offered by the explorers (days after the first session)
LANDMARKS = (91, 182, 273, 365)


def show(result: Any) -> None:
    """Display a view's result: a DataFrame, a matplotlib Figure/Axes, text, or a tuple of them.

    Figures are closed after being shown so that they are not drawn a second time by the inline
    backend.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    items = result if isinstance(result, (tuple, list)) else (result,)
    for item in items:
        if item is None:
            continue
        if isinstance(item, Axes):
            item = item.figure
        if isinstance(item, Figure):
            display(item)
            plt.close(item)
        elif isinstance(item, str):
            from .report import Text

            display(Text(item))
        else:
            display(item)


def _control(name: str, choices: Sequence, description: str | None, default=None):
    import ipywidgets as w

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
    return w.Dropdown(options=list(choices), value=default, description=label, style=style)


def explorer(view: Callable[..., Any], /, *, labels: dict[str, str] | None = None,
             defaults: dict[str, Any] | None = None, render: bool = True,
             **options: Sequence):
    """Controls for ``options`` above an output area showing ``view(**choices)``.

    Parameters
    ----------
    view : callable
        Called with one keyword per option; returns what :func:`show` can display.
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
        ``.children``: the controls (one row), then the ``Output`` area. ``box.refresh()`` re-draws.
    """
    import ipywidgets as w

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
        out.clear_output(wait=True)
        with out:
            try:
                show(view(**{name: c.value for name, c in controls.items()}))
            except RecordsError as exc:  # a choice the records cannot answer: say so, plainly
                show(f"**Not available for this choice:** {exc}")

    for c in controls.values():
        c.observe(refresh, names="value")
    box = w.VBox([w.HBox(list(controls.values())), out])
    box.refresh = refresh
    box.controls = controls
    if render:
        refresh()
    return box


def attendance_explorer(records, *, landmarks: Sequence[int] = LANDMARKS,
                        protocols: Sequence[str] | None = None):
    """Notebook 02: attendance metrics and protocol adherence for a chosen landmark and protocol.

    Shows :func:`outcomes.report.attendance_view` (metrics by frequency group and the frequency
    distribution) for the chosen ``landmark_days`` and ``protocol`` (a name of
    :func:`outcomes.report.protocol_choices`).
    """
    from .report import attendance_view, protocol_choices

    protocols = list(protocols) if protocols is not None else list(protocol_choices())
    return explorer(lambda landmark_days, protocol: attendance_view(
        records, landmark_days=landmark_days, protocol=protocol),
        landmark_days=sorted(landmarks), protocol=protocols,
        labels={"landmark_days": "landmark (days)"}, defaults=_landmark_default(landmarks))


def effects_explorer(records, *, measures: Sequence[str] | None = None,
                     regions: Sequence[str] | None = None, raters: Sequence[str] | None = None,
                     landmarks: Sequence[int] = LANDMARKS):
    """Notebook 03: naive vs adjusted effect of frequency for a measure, region, rater, landmark.

    Shows :func:`outcomes.report.effects_view`. The choices offered default to what the records
    hold (measures with ratings, regions and raters present), primary ones first.
    """
    from .report import effects_view

    a = records.assessments
    measures = list(measures) if measures is not None else [
        m for m in records.measures if m in a and a[m].notna().any()]
    regions = list(regions) if regions is not None else _present(a["region"], "face")
    raters = list(raters) if raters is not None else _present(a["rater"], "clinician")
    return explorer(lambda measure, region, rater, landmark_days: effects_view(
        records, measure=measure, region=region, rater=rater, landmark_days=landmark_days),
        measure=measures, region=regions, rater=raters,
        landmark_days=sorted(landmarks), labels={"landmark_days": "landmark (days)"},
        defaults=_landmark_default(landmarks))


def _present(column: pd.Series, first: str) -> list[str]:
    values = sorted(pd.unique(column.dropna().astype("str")))
    return ([first] if first in values else []) + [v for v in values if v != first]


def _landmark_default(landmarks: Sequence[int], default: int = 182) -> dict[str, int]:
    return {"landmark_days": default} if default in landmarks else {}
