"""environment.yml (conda users) lists exactly the dependencies of pyproject.toml (the truth)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# PyPI name → conda-forge name where they differ
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(CONDA_NAMES.get(n, n) and (CONDA_NAMES.get(n, n), v) for n, v in map(_split, reqs))


def _environment() -> dict[str, str]:
    deps, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([^\s:]+)\s*$", line)
        if in_deps and m:
            name, version = _split(m.group(1))
            if name not in ("python", "pip"):
                deps[name] = version
    return deps


def test_environment_lists_the_same_dependencies_as_pyproject():
    assert _environment() == _pyproject()


def test_environment_installs_the_package_itself():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_python_floor_matches():
    text = (ROOT / "environment.yml").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"python{project['requires-python']}" in text
