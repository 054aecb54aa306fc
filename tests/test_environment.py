"""pyproject.toml (the ranges), requirements.lock (the exact releases) and environment.yml (conda
users) agree — the check of ``.ci/lockfile.py environment --check``, run here."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lockfile():
    spec = importlib.util.spec_from_file_location("lockfile", ROOT / ".ci" / "lockfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pyproject_lock_and_environment_agree(lockfile):
    assert lockfile.problems() == []


def test_the_check_finds_a_pin_that_drifted(lockfile, tmp_path, monkeypatch):
    env = tmp_path / "environment.yml"
    env.write_text(lockfile.ENVIRONMENT.read_text().replace("pandas==", "pandas==0.0.0+"))
    monkeypatch.setattr(lockfile, "ENVIRONMENT", env)
    assert any("environment.yml" in p for p in lockfile.problems())


def test_the_check_finds_a_lock_outside_the_range(lockfile, tmp_path, monkeypatch):
    lock = tmp_path / "requirements.lock"
    lock.write_text(re.sub(r"(?m)^pandas==\S+", "pandas==2.2.3", lockfile.LOCK.read_text()))
    monkeypatch.setattr(lockfile, "LOCK", lock)
    assert any("pandas==2.2.3" in p and "outside" in p for p in lockfile.problems())


def test_every_locked_release_has_hashes():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"(?m)^(?=[A-Za-z0-9])", text)
    pins = [b for b in blocks if re.match(r"^[A-Za-z0-9_.\-]+==", b)]
    assert len(pins) > 50
    assert all("--hash=sha256:" in b for b in pins)


def test_the_lock_holds_what_setup_installs_besides_the_dependencies(lockfile):
    pins = lockfile.locked()
    assert {"pip", "setuptools", "wheel", "uv"} <= set(pins)


def test_the_installed_environment_is_the_locked_one(lockfile):
    """What this test run uses is exactly the lock (under `make test`; `make test-latest` and
    `make test-oldest` run on purpose on other releases and skip this)."""
    if Path(sys.prefix).name != ".venv":
        pytest.skip(f"not the project's .venv ({sys.prefix})")
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "lockfile.py"), "compare"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("0 of "), out
    assert "not in the lock" not in out, out


def test_python_floor_matches(lockfile):
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={lockfile.PYTHON}"
