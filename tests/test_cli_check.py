"""`outcomes check`: exit codes, human output, --json, --strict, and the acceptance folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_fixtures import ASSESSMENTS, PATIENTS, SESSIONS, add_rows, write

from outcomes.cli import main

# a dozen kinds of bad rows, each on a known line
BAD_SESSIONS = [
    ("P001,2024-02-30,microneedling,1,,", "impossible date"),           # line 7
    ("P001,23/11/2024,microneedling,1,,", "not in YYYY-MM-DD"),         # line 8
    ("P001,1985-05-01,microneedling,1,,", "before 1990"),               # line 9
    ("P001,2999-01-01,microneedling,1,,", "in the future"),             # line 10
    (",2024-03-01,microneedling,1,,", "empty patient_id"),              # line 11
    ("P001,2024-03-01,microneedling,-0.5,,", "depth outside"),          # line 12
    ("P001,2024-01-10,microneedling,1.5,nose;chin,C1", "exact duplicate"),  # line 13
]
BAD_ASSESSMENTS = [
    ("P001,2024-03-01,face,clinician,5,2", "outside the pore scale"),   # line 7
    ("P001,2024-03-01,face,clinician,mild,2", "not a number"),          # line 8
    ("P999,2024-03-01,face,clinician,2,2", "neither sessions nor patients"),  # line 9
    ("P001,2024-03-01,face,clinician,,", "no rating"),                  # line 10
]
BAD_PATIENTS = [("P004,40,F,2,sometimes,low,7,basic,both,K1", "unknown smoker")]  # line 5


@pytest.fixture
def bad_folder(tmp_path):
    return write(tmp_path / "bad",
                 sessions=add_rows(SESSIONS, *[r for r, _ in BAD_SESSIONS]),
                 assessments=add_rows(ASSESSMENTS, *[r for r, _ in BAD_ASSESSMENTS]),
                 patients=add_rows(PATIENTS, *[r for r, _ in BAD_PATIENTS]))


def test_dozen_kinds_of_bad_rows_listed_with_lines(bad_folder, capsys):
    assert main(["check", str(bad_folder)]) == 0
    out = capsys.readouterr().out
    expected = ([("sessions.csv", 7 + i, why) for i, (_, why) in enumerate(BAD_SESSIONS)]
                + [("assessments.csv", 7 + i, why) for i, (_, why) in enumerate(BAD_ASSESSMENTS)]
                + [("patients.csv", 5, BAD_PATIENTS[0][1])])
    assert len(expected) == 12
    lines = out.splitlines()
    for file, line, why in expected:
        assert any(f"{file} line {line}:" in x and why in x for x in lines), (file, line, why)
    assert "  sessions             5 rows loaded from sessions.csv, 7 quarantined" in out
    assert "quarantined rows: 12" in out


def test_json_output(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loaded"] == {"sessions": 5, "assessments": 5, "patients": 3}
    assert info["input_rows"] == {"sessions": 12, "assessments": 9, "patients": 4}
    assert info["quarantined"] == 12
    assert len(info["rejects"]) == 12
    first = info["rejects"][0]
    assert set(first) == {"file", "line", "column", "value", "reason"}
    assert (first["file"], first["line"], first["column"], first["value"]) == (
        "sessions.csv", 7, "date", "2024-02-30")
    assert info["date_range"]["sessions"] == ["2024-01-10", "2024-03-15"]
    assert info["measures"]["pore"]["better"] == "lower"


def test_max_rejects_limits_human_list(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--max-rejects", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count(" line ") == 3 and "9 more (use --json for all)" in out


def test_strict_exit_1(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("outcomes check: 12 row(s) have problems")


def test_clean_folder(tmp_path, capsys):
    assert main(["check", str(write(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "quarantined rows: none" in out and "patients             3 distinct" in out
    assert "pore: Pore size (clinician grade), 0–4, lower is better (5 ratings)" in out


def test_email_column_refused_with_pointer(tmp_path, capsys):
    p = PATIENTS.replace("clinic_id\n", "clinic_id,email\n").replace(",K1\n", ",K1,a@b.org\n")
    assert main(["check", str(write(tmp_path, patients=p))]) == 1
    err = capsys.readouterr().err
    assert "patients.csv" in err and "'email' (e-mail)" in err
    assert "outcomes anonymise RAW OUT --key-file KEY" in err


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_subprocess_python_m(bad_folder):
    run = subprocess.run([sys.executable, "-m", "outcomes", "check", str(bad_folder), "--json"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["quarantined"] == 12
    missing = subprocess.run([sys.executable, "-m", "outcomes", "check", str(bad_folder / "no")],
                             check=False, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no records folder" in missing.stderr


# --------------------------------------------------------------------------------------------------
# a reader that goes away (`outcomes effects DIR | head`)


@pytest.mark.parametrize("command", ["demo", "check", "effects", "anonymise", "report"])
def test_broken_pipe_is_a_quiet_exit_for_every_command(command, monkeypatch, capsys):
    from outcomes import cli

    def gone(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setitem(cli._HANDLERS, command, gone)
    argv = {"demo": ["demo", "x"], "check": ["check", "x"], "effects": ["effects", "x"],
            "anonymise": ["anonymise", "r", "o", "--key-file", "k"],
            "report": ["report", "x", "-o", "r.html"]}[command]
    assert main(argv) == 141
    assert capsys.readouterr().err == ""


def test_broken_pipe_in_a_real_pipe_prints_no_traceback(tmp_path):
    folder = write(tmp_path / "ok")
    proc = subprocess.Popen([sys.executable, "-m", "outcomes", "check", "--json", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


# --------------------------------------------------------------------------------------------------
# what came from the files never reaches the terminal as control characters

HOSTILE = ["\x1b[2J\x1b[31mred", "a\rb", "bell\x07", "\x9b31m", "rtl\u202eevil", "new\nline",
           "zero\u200bwidth", "tab\there", "del\x7f"]


def _controls(text: str) -> list[str]:
    import unicodedata

    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def _hostile_folder(tmp_path, value: str):
    quoted = '"' + value.replace('"', '""') + '"'
    label = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
        "\r", "\\r").replace("\t", "\\t")
    label = "".join(c if c.isprintable() or c in "\\" else
                    (f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
                    for c in label)
    toml = (f'[measures.pore]\nlabel = "{label}"\nmin = 0\nmax = 4\nbetter = "lower"\n')
    return write(tmp_path / "hostile",
                 sessions=add_rows(SESSIONS, f"P003,2024-02-09,{quoted},1.0,cheeks,C1"),
                 assessments=add_rows(ASSESSMENTS, f"P003,2024-08-01,face,clinician,{quoted},3"),
                 patients=add_rows(PATIENTS, f"P004,40,F,2,{quoted},low,7,basic,both,K1"),
                 toml=toml)


@pytest.mark.parametrize("value", HOSTILE)
def test_check_human_output_escapes_control_characters(tmp_path, capsys, value):
    folder = _hostile_folder(tmp_path, value)
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert not _controls(out)
    assert "quarantined rows: 2" in out  # the bad rating and the unknown smoker


@pytest.mark.parametrize("value", HOSTILE)
def test_check_json_output_is_ascii_and_round_trips(tmp_path, capsys, value):
    folder = _hostile_folder(tmp_path, value)
    assert main(["check", "--json", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.isascii() and not _controls(out.rstrip("\n"))
    info = json.loads(out)
    assert value.strip() in {r["value"] for r in info["rejects"]} | {value}
    assert info["measures"]["pore"]["label"] == value


def test_error_message_escapes_control_characters(tmp_path, capsys):
    folder = write(tmp_path / "bad", sessions=SESSIONS.replace("clinician_id", "clinician_id,"
                                                               "\x1b[2Je-mail"))
    assert main(["check", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2Je-mail" in err and "direct identifiers" in err


def test_every_row_malformed_is_quarantined_not_a_crash(tmp_path, capsys):
    folder = write(tmp_path / "bad", sessions=SESSIONS.replace("clinician_id", "clinician_id,x"))
    assert main(["check", "--json", str(folder)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loaded"]["sessions"] == 0 and info["quarantined_by_table"]["sessions"] == 5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=12).filter(lambda v: v.strip() and "\x00" not in v))
def test_any_cell_text_reaches_the_terminal_escaped(tmp_path_factory, value):
    folder = _hostile_folder(tmp_path_factory.mktemp("h"), value)
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["check", str(folder)])
    assert not _controls(out.getvalue()) and not _controls(err.getvalue())
    if status == 1:  # the value itself looked like an identifier: refused, message escaped
        return
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", "--json", str(folder)])
    text = out.getvalue()
    assert text.isascii() and not _controls(text.rstrip("\n"))
    assert json.loads(text)["measures"]["pore"]["label"] == value


@pytest.mark.parametrize("value", HOSTILE)
def test_strict_error_escapes_control_characters(tmp_path, capsys, value):
    folder = _hostile_folder(tmp_path, value)
    assert main(["check", "--strict", str(folder)]) == 1
    err = capsys.readouterr().err
    assert not _controls(err) and "strict mode" in err


@pytest.mark.parametrize("command", ["demo", "effects", "report"])
def test_every_command_output_reaches_the_terminal_escaped(command, monkeypatch, capsys):
    """Whatever any command prints (a measure label, a treatment name) passes the terminal
    escape: one place for the whole command line."""
    from outcomes import cli

    def prints(args):
        print("label \x1b[2J\u202e done\nnext line")
        return 0

    monkeypatch.setitem(cli._HANDLERS, command, prints)
    argv = {"demo": ["demo", "x"], "effects": ["effects", "x"],
            "report": ["report", "x", "-o", "r.html"]}[command]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == "label \\x1b[2J\\u202e done\nnext line\n"


def test_a_row_counted_under_two_reasons_is_said(capsys):
    """The demo with mistakes has a row with two problems: the reasons add to one more than the
    rows quarantined, and the check says why instead of leaving the sum to puzzle over."""
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "data" / "demo-with-mistakes"
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("quarantined rows:"))
    total = int(head.split(":")[1].split("(")[0].replace(",", ""))
    reasons = [line for line in out.splitlines()[out.splitlines().index(head) + 1:]
               if line.startswith("  ") and line.split()[0].replace(",", "").isdigit()]
    added = sum(int(line.split()[0].replace(",", "")) for line in reasons)
    assert added > total  # the case the sentence is for
    assert f"counted once under each reason, so these add to {added}" in head
