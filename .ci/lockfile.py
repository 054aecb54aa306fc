"""requirements.lock and what must agree with it.

``python .ci/lockfile.py environment``          write environment.yml from pyproject.toml and the lock
``python .ci/lockfile.py environment --check``  exit 1 when environment.yml is not what it would write,
                                               or a locked version is outside pyproject.toml's range
``python .ci/lockfile.py compare``              print the installed releases that differ from the lock

``make lock`` writes environment.yml after the lock; ``tests/test_environment.py`` runs the check;
``make test-latest`` and ``make test-oldest`` run ``compare`` so their output says what they tested.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
ENVIRONMENT = ROOT / "environment.yml"
#: the Python the lock is tested on (CI's); environment.yml pins the releases locked for it
PYTHON = "3.11"
#: PyPI name → conda-forge name where they differ
CONDA_NAMES = {"duckdb": "python-duckdb"}


def locked(path: Path = LOCK, env: dict | None = None) -> dict[str, str]:
    """``{name: version}`` of the lock's pins whose marker holds in ``env`` (default: here)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+))?", line)
        if m and (m.group(3) is None or Marker(m.group(3).strip()).evaluate(env)):
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def direct() -> list[Requirement]:
    """The dependencies and the dev extra of pyproject.toml, in its order."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in
            project["dependencies"] + project["optional-dependencies"]["dev"]]


def environment_text() -> str:
    env = {"python_version": PYTHON, "python_full_version": f"{PYTHON}.0"}
    pins = locked(LOCK, env)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = ["# conda route: `conda env create -f environment.yml && conda activate outcomes`.",
             "# Written by `make lock` from pyproject.toml and requirements.lock: the same releases",
             f"# as the lock (for Python {PYTHON}); tests/test_environment.py checks that it is.",
             "name: outcomes", "channels:", "  - conda-forge", "dependencies:",
             f"  - python={PYTHON}  # pyproject.toml: requires-python {project['requires-python']}"]
    n_main = len(project["dependencies"])
    for i, req in enumerate(direct()):
        if i == n_main:
            lines.append("  # dev extra")
        name = canonicalize_name(req.name)
        lines.append(f"  - {CONDA_NAMES.get(name, name)}=={pins[name]}")
    lines += ["  - pip", "  - pip:", "      - -e ."]
    return "\n".join(lines) + "\n"


def problems() -> list[str]:
    """What is wrong between pyproject.toml, the lock and environment.yml (empty: nothing)."""
    out = []
    pins = locked(LOCK, {"python_version": PYTHON, "python_full_version": f"{PYTHON}.0"})
    for req in direct():
        name = canonicalize_name(req.name)
        if name not in pins:
            out.append(f"{req.name} is in pyproject.toml but not in the lock: run `make lock`")
        elif not req.specifier.contains(pins[name], prereleases=True):
            out.append(f"{req.name}=={pins[name]} in the lock is outside pyproject.toml's "
                       f"{req.specifier}: run `make lock`")
    if not out and ENVIRONMENT.read_text(encoding="utf-8") != environment_text():
        out.append("environment.yml is not what the lock gives: run "
                   "`python .ci/lockfile.py environment` (make lock does)")
    return out


def compare() -> int:
    pins = locked(LOCK)
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in metadata.distributions()}
    rows = [(n, installed[n], pins[n]) for n in sorted(pins)
            if n in installed and installed[n] != pins[n]]
    print(f"{len(rows)} of {len(pins)} locked releases differ here from {LOCK.name}:")
    for name, have, lock in rows:
        print(f"  {name} {have} (locked {lock})")
    extra = sorted(set(installed) - set(pins) - {"outcomes"})
    if extra:
        print("installed here but not in the lock: " + ", ".join(extra))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["compare"]:
        return compare()
    if argv[:1] == ["environment"]:
        if "--check" in argv:
            found = problems()
            print("\n".join(found) or "pyproject.toml, requirements.lock and environment.yml agree")
            return 1 if found else 0
        ENVIRONMENT.write_text(environment_text(), encoding="utf-8")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
