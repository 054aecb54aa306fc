"""The top-level namespace: every advertised name resolves, and importing stays light."""

import subprocess
import sys

import outcomes


def test_every_name_in_all_resolves():
    for name in outcomes.__all__:
        assert getattr(outcomes, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        outcomes.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_does_not_pull_in_the_modelling_stack():
    code = "import sys, outcomes; print(sorted(m for m in ('statsmodels', 'matplotlib', 'seaborn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
