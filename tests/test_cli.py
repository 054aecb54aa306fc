"""The command line's shared contract: usage errors exit 2, RecordsError exits 1 without traceback."""

import subprocess
import sys

import pytest

from outcomes import cli
from outcomes.errors import RecordsError


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2


def test_unknown_option_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "somewhere", "--no-such-option"])
    assert exc.value.code == 2


def test_records_error_is_printed_plainly_and_exits_1(monkeypatch, capsys):
    def boom(args):
        raise RecordsError("sessions.csv: the column `date` is missing. Add it.")

    monkeypatch.setitem(cli._HANDLERS, "check", boom)
    assert cli.main(["check", "anywhere"]) == 1
    err = capsys.readouterr().err
    assert "sessions.csv: the column `date` is missing" in err
    assert "Traceback" not in err


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "outcomes", "--help"], capture_output=True,
                         text=True, check=True)
    for command in ("demo", "check", "effects", "strategies", "beliefs", "anonymise", "report",
                    "sources"):
        assert command in out.stdout
