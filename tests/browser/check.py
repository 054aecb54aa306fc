"""The notebooks and the report as a reader sees them: a real JupyterLab in headless Chromium.

Run by ``make browser`` (after ``make report``); not collected by ``pytest tests`` (no ``test_``
name). It

1. starts JupyterLab on a free localhost port with a random token (``--allow-root`` when root);
2. opens every committed notebook and fails on an error shown in it (a traceback on stderr, an
   ``Error`` output, "Error displaying widget") or a raw widget repr (``VBox(children=…``);
3. runs notebook 02 with its kernel, changes its protocol control and fails unless the figure is
   still in the control's cell after the redraw;
4. opens ``reports/summary.html`` and fails unless every ``<img>`` is drawn (naturalWidth > 0),
   no raw markup (``<tag``) shows in the visible text, and no code name (``every_2_months``), path,
   section sign or notebook name is in its prose;
5. fails unless the first screen (the window's height, no scrolling) holds the bottom line of
   every measure: the schedule, what it rests on, how sure (screenshot ``report-first-screen``);
6. prints the report to PDF on A4 and on Letter with Chromium and reads it page by page
   (poppler's ``pdftotext``, ``pdfimages``): fails when a figure's caption is on a page without
   its figure, or a page other than the last is near-empty; the first two pages of each are
   kept as PNG (``print-A4-1.png`` …) to look at.

Screenshots go to ``reports/browser/`` (always for the report and notebooks 02, 04, 05 and 06, and for any
failure). Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser-deps``) and selenium.
Exit status 0 when every check passes, 1 otherwise; the whole run is bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
REPORT = ROOT / "reports" / "summary.html"
SHOTS = ROOT / "reports" / "browser"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000")
# what must never be seen in a notebook's outputs
STDERR = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
# notebooks written for the clinic lead: no NaN cell in their tables
PLAIN = ("01", "02", "03", "04", "05", "06")
RAW_MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
# what a forwarded report must not say: code names, paths, section numbers, notebook names
CODE_WORDS = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|§|\bnotebook \d|\.ipynb|\.md\b|"
                        r"\bdocs/|\bdata/")
# paper sizes in inches (Chromium's printToPDF takes inches)
PAPERS = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
# a printed page (not the last) with fewer lines of text than this and no figure is near-empty
NEAR_EMPTY = 15
# JupyterLab settings for the check: every cell in the page (no windowing), no news, no updates
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


class Failed(Exception):
    """A check that did not pass (the message says what the reader would see)."""


def log(message: str) -> None:
    print(f"browser: {message}", flush=True)


# ---- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(tmp: Path, timeout: float):
    """A JupyterLab server on 127.0.0.1 serving the project; yields ``(base_url, token)``."""
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "MPLBACKEND": "Agg"}
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(tmp / "jupyterlab.log", "w") as server_log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=server_log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield _wait_for_server(proc, f"http://127.0.0.1:{port}", token, tmp, timeout), token
        finally:
            _stop(proc)


def _wait_for_server(proc, base: str, token: str, tmp: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise Failed(f"JupyterLab stopped at start:\n{(tmp / 'jupyterlab.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise Failed(f"JupyterLab did not answer on {base} within {timeout:.0f} s")
            time.sleep(0.3)
    log(f"JupyterLab up on {base}")
    return base


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its kernels: SIGTERM to its process group, SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def _shutdown_kernels(base: str, token: str) -> None:
    for session in _api(base, token, "/api/sessions"):
        _api(base, token, f"/api/sessions/{session['id']}", method="DELETE")


# ---- the browser


def chromium(tmp: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp / 'chromium-profile'}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        raise Failed("chromium and chromedriver are needed: make browser-deps "
                     "(apt-get install chromium chromium-driver)")
    options.binary_location = binary
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def screenshot(driver, name: str, *, full_page: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if full_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": min(height, 16000), "deviceScaleFactor": 1,
            "mobile": False})
        driver.save_screenshot(str(path))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    else:
        driver.save_screenshot(str(path))
    return path


def _wait(driver, seconds: float, condition, what: str):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition)
    except TimeoutException:
        raise Failed(f"timed out after {seconds:.0f} s waiting for {what}") from None


_NOTEBOOK_READY = """
const app = window.jupyterapp;
if (!app) return false;
const nb = app.shell.currentWidget;
if (!nb || !nb.content || !nb.context || !nb.context.isReady) return false;
const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
return cells.length === nb.content.widgets.length && cells.length > 0;
"""

_OUTPUT_PROBLEMS = """
const problems = [];
for (const el of document.querySelectorAll(arguments[0])) {
  if (/Traceback|Error/.test(el.innerText)) problems.push('stderr: ' + el.innerText.slice(0, 300));
}
for (const el of document.querySelectorAll('.jp-OutputArea-output')) {
  const text = el.innerText || '';
  if (el.getAttribute('data-mime-type') === 'application/vnd.jupyter.error' ||
      el.querySelector('[data-mime-type="application/vnd.jupyter.error"]'))
    problems.push('error output: ' + text.slice(0, 300));
  else if (/Error displaying widget|Traceback \\(most recent call last\\)/.test(text))
    problems.push('error shown: ' + text.slice(0, 300));
  else if (/^\\s*(VBox|HBox|Output|Dropdown)\\(/.test(text))
    problems.push('raw widget repr: ' + text.slice(0, 120));
}
return problems;
"""


def open_notebook(driver, base: str, token: str, path: Path):
    rel = path.relative_to(ROOT).as_posix()
    workspace = re.sub(r"\W", "-", path.stem)
    driver.get(f"{base}/lab/workspaces/{workspace}/tree/{rel}?reset&token={token}")
    _wait(driver, 90, lambda d: d.execute_script(_NOTEBOOK_READY), f"{rel} to open")
    # rendered outputs (markdown, images) settle a moment after the cells exist
    _wait(driver, 30, lambda d: d.execute_script(
        "return [...document.images].every(i => i.complete)"), f"{rel}'s images")
    time.sleep(1.0)


def _scroll_to(driver, css: str) -> None:
    """Scroll the first element matching ``css`` to the middle of the notebook's view."""
    driver.execute_script(
        "const el = document.querySelector(arguments[0]);"
        "if (el) el.scrollIntoView({block: 'center'});", css)
    time.sleep(0.5)


def check_notebook_outputs(driver, name: str, *, plain: bool = False) -> None:
    """Errors, raw widget text and undrawn figures; with ``plain``, also NaN cells in tables."""
    problems = driver.execute_script(_OUTPUT_PROBLEMS, STDERR)
    if plain:
        nan = driver.execute_script(
            "return [...document.querySelectorAll('.jp-OutputArea-output td')]"
            ".filter(td => /^\\s*(NaN|nan|None|<NA>)\\s*$/.test(td.innerText)).length")
        if nan:
            problems.append(f"{nan} table cell(s) show NaN/None instead of a value or '—'")
    broken = driver.execute_script(
        "return [...document.querySelectorAll('.jp-OutputArea-output img')]"
        ".filter(i => !(i.naturalWidth > 0)).length")
    if broken:
        problems.append(f"{broken} figure(s) not drawn")
    if problems:
        raise Failed(f"{name}: " + "; ".join(problems))


_RUN_ALL = """
const done = arguments[arguments.length - 1];
const app = window.jupyterapp;
const nb = app.shell.currentWidget;
// started, not awaited: on a loaded machine the run outlasts the driver's script timeout (60 s);
// run_all_cells then waits for the kernel to be idle, with its own limit
nb.sessionContext.ready
  .then(() => { app.commands.execute('notebook:run-all-cells'); done('ok'); },
        (e) => done('failed: ' + e));
"""

_BUSY = """
const nb = window.jupyterapp.shell.currentWidget;
const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')];
const status = nb.sessionContext.session && nb.sessionContext.session.kernel
  ? nb.sessionContext.session.kernel.status : 'none';
return prompts.some(p => p.innerText.includes('*')) || status !== 'idle';
"""


def run_all_cells(driver, name: str, seconds: float) -> None:
    result = driver.execute_async_script(_RUN_ALL)
    if result != "ok":
        raise Failed(f"{name}: could not run the cells ({result})")
    time.sleep(1.0)
    _wait(driver, seconds, lambda d: not d.execute_script(_BUSY), f"{name}'s cells to run")


def _explorer_state(driver):
    """(select count, img count, drawn img count, output html) of the last widget output."""
    return driver.execute_script("""
const areas = [...document.querySelectorAll('.jupyter-widgets-output-area, .widget-output')];
const area = areas[areas.length - 1];
const selects = document.querySelectorAll('.jp-OutputArea-output .widget-dropdown select');
if (!area) return [selects.length, 0, 0, ''];
const imgs = [...area.querySelectorAll('img')];
return [selects.length, imgs.length, imgs.filter(i => i.complete && i.naturalWidth > 0).length,
        area.innerHTML.length + ':' + (area.querySelector('table') || {innerText: ''}).innerText];
""")


def check_control_keeps_figure(driver, name: str) -> None:
    _wait(driver, 60, lambda d: _explorer_state(d)[0] > 0 and _explorer_state(d)[2] > 0,
          f"{name}'s controls and their figure")
    selects = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-dropdown select")
    select = Select(selects[-1])
    options = [o.text for o in select.options]
    for index in range(1, len(options)):
        before = _explorer_state(driver)[3]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", selects[-1])
        select.select_by_index(index)
        _wait(driver, 60, lambda d, before=before: _explorer_state(d)[3] != before,
              f"{name} to redraw for {options[index]!r}")
        time.sleep(1.5)  # a figure that is going to vanish has gone by now
        _, imgs, drawn, _ = _explorer_state(driver)
        if imgs < 1 or drawn < imgs:
            screenshot(driver, f"FAILED-{Path(name).stem}-control")
            raise Failed(f"{name}: after choosing {options[index]!r} the figure is not in the "
                         f"cell ({imgs} image(s), {drawn} drawn)")
        log(f"{name}: {options[index]!r} → table and figure redrawn in the cell")
    handles = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .noUi-handle")
    if handles:  # the landmark slider: one step to the right with the keyboard
        before = _explorer_state(driver)[3]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", handles[-1])
        handles[-1].click()
        handles[-1].send_keys(Keys.ARROW_RIGHT)
        _wait(driver, 60, lambda d: _explorer_state(d)[3] != before,
              f"{name} to redraw for the next landmark")
        time.sleep(1.5)
        _, imgs, drawn, _ = _explorer_state(driver)
        if imgs < 1 or drawn < imgs:
            screenshot(driver, f"FAILED-{Path(name).stem}-slider")
            raise Failed(f"{name}: after moving the landmark slider the figure is not in the cell")
        log(f"{name}: landmark slider moved → table and figure redrawn in the cell")
    driver.execute_script(
        "const imgs = document.querySelectorAll('.widget-output img, "
        ".jupyter-widgets-output-area img');"
        "if (imgs.length) imgs[imgs.length - 1].scrollIntoView({block: 'end'});")
    time.sleep(0.5)
    screenshot(driver, f"notebook-{Path(name).stem[:2]}-controls")
    select.select_by_index(0)
    time.sleep(1.0)


def check_report(driver, path: Path) -> None:
    if not path.is_file():
        raise Failed(f"{path} is missing: run make report first")
    driver.get(path.as_uri())
    _wait(driver, 30, lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"),
        "the report to load")
    images = driver.execute_script(
        "return [...document.images].map(i => [i.alt || i.src.slice(0, 40), i.naturalWidth])")
    broken = [alt for alt, width in images if not width]
    text = driver.execute_script("return document.body.innerText")
    markup = sorted({m.group(0)[:60] for m in RAW_MARKUP.finditer(text)})
    code = sorted({m.group(0) for m in CODE_WORDS.finditer(text)})
    screenshot(driver, "report-first-screen")
    screenshot(driver, "report", full_page=True)
    problems = []
    if not images:
        problems.append("no figure in the report")
    if broken:
        problems.append(f"{len(broken)} of {len(images)} image(s) not drawn: {broken[:3]}")
    if markup:
        problems.append(f"raw markup in the visible text: {markup[:5]}")
    if code:
        problems.append(f"code names, paths or section numbers in the prose: {code[:8]}")
    problems += first_screen_problems(driver)
    if problems:
        raise Failed(f"{path.name}: " + "; ".join(problems))
    log(f"{path.relative_to(ROOT)}: {len(images)} image(s) drawn, no raw markup or code name in "
        f"{len(text)} characters of text; the bottom line is on the first screen")


_FIRST_SCREEN = """
const h = window.innerHeight;
return [...document.querySelectorAll('li, p')]
  .filter(el => { const r = el.getBoundingClientRect(); return r.height > 0 && r.bottom <= h; })
  .map(el => el.innerText);
"""


def first_screen_problems(driver) -> list[str]:
    """What the first screen (top of the page, the window's height) lacks of the bottom line: for
    every measure a line naming the schedule, one saying what it rests on, one saying how sure."""
    driver.execute_script("window.scrollTo(0, 0)")
    seen = driver.execute_script(_FIRST_SCREEN)
    answers = [t for t in seen if re.search(r"best supported is|keep |no schedule", t)]
    rests = [t for t in seen if t.startswith("Rests on")]
    sure = [t for t in seen if t.startswith("How sure")]
    problems = []
    if len(answers) < 2 or len(rests) < 2 or len(sure) < 2:
        problems.append(f"the first screen holds {len(answers)} answer(s), {len(rests)} "
                        f"'rests on' and {len(sure)} 'how sure' line(s): the bottom line of both "
                        "measures should be there without scrolling")
    return problems


def _pages(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def _images_per_page(pdf: Path) -> dict[int, int]:
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    pages: dict[int, int] = {}
    for line in out:
        fields = line.split()
        if len(fields) > 2 and fields[2] == "image":
            pages[int(fields[0])] = pages.get(int(fields[0]), 0) + 1
    return pages


def print_problems(pdf: Path, paper: str) -> list[str]:
    """A printed report read page by page: every caption on a page with its figure, no
    near-empty page but the last."""
    pages = _pages(pdf)
    images = _images_per_page(pdf)
    problems = []
    for i, text in enumerate(pages, start=1):
        captions = re.findall(r"^\s*(Figure \d+\.)", text, flags=re.MULTILINE)
        if captions and images.get(i, 0) < len(captions):
            problems.append(f"{paper} page {i}: {', '.join(captions)} without its figure")
        lines = [line for line in text.splitlines() if line.strip()]
        if i < len(pages) and len(lines) < NEAR_EMPTY and not images.get(i):
            problems.append(f"{paper} page {i} is near-empty ({len(lines)} lines of text)")
    return problems


def check_print(driver, path: Path) -> None:
    """Print the report to PDF on A4 and Letter; read each page; keep its first pages as PNG."""
    driver.get(path.as_uri())
    _wait(driver, 30, lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"),
        "the report to load")
    problems = []
    for paper, (width, height) in PAPERS.items():
        pdf = SHOTS / f"summary-{paper}.pdf"
        data = driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": width, "paperHeight": height, "printBackground": True,
            "preferCSSPageSize": False, "marginTop": 0.4, "marginBottom": 0.4,
            "marginLeft": 0.4, "marginRight": 0.4})
        pdf.write_bytes(base64.b64decode(data["data"]))
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "3", str(pdf),
                        str(SHOTS / f"print-{paper}")], check=True)
        found = print_problems(pdf, paper)
        problems += found
        log(f"printed on {paper}: {len(_pages(pdf))} pages"
            + ("" if found else ", every caption with its figure, no near-empty page"))
    if problems:
        raise Failed(f"{path.name} printed: " + "; ".join(problems))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=300,
                        help="give up after this many seconds in all (default 300)")
    parser.add_argument("--only", default="",
                        help="check only the notebooks whose name contains this (and the report)")
    args = parser.parse_args(argv)
    notebooks = [nb for nb in NOTEBOOKS if args.only in nb.name]

    def out_of_time(*_):
        raise Failed(f"the browser check took longer than {args.timeout:.0f} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.timeout))
    started = time.monotonic()
    if SHOTS.is_dir():  # screenshots of this run only
        for old in [*SHOTS.glob("*.png"), *SHOTS.glob("*.pdf")]:
            old.unlink()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="outcomes-browser-") as tmp_name:
        tmp = Path(tmp_name)
        driver = None
        try:
            with jupyterlab(tmp, timeout=60) as (base, token):
                driver = chromium(tmp)
                for nb in notebooks:
                    name = nb.name
                    try:
                        open_notebook(driver, base, token, nb)
                        check_notebook_outputs(driver, name, plain=nb.stem[:2] in PLAIN)
                        log(f"{name}: opened, no error or raw widget text in its outputs")
                        if nb.stem.startswith("06"):
                            screenshot(driver, "notebook-06")
                            _scroll_to(driver, ".jp-OutputArea-output img")
                            screenshot(driver, "notebook-06-figure")
                        if nb.stem.startswith("04"):
                            _scroll_to(driver, ".jp-OutputArea-output img")
                            screenshot(driver, "notebook-04-schedules")
                        if nb.stem.startswith("05"):
                            _scroll_to(driver, ".jp-Notebook .jp-Cell:nth-child(19)")
                            screenshot(driver, "notebook-05-balance")
                        if nb.stem.startswith("02"):
                            _scroll_to(driver, ".jp-Notebook .jp-Cell:last-child")
                            screenshot(driver, "notebook-02-as-committed")
                            run_all_cells(driver, name, seconds=120)
                            check_notebook_outputs(driver, name + " (run in the browser)")
                            check_control_keeps_figure(driver, name)
                    except (Failed, WebDriverException) as exc:
                        failures.append(str(exc).strip().splitlines()[0] if isinstance(
                            exc, WebDriverException) else str(exc))
                        screenshot(driver, f"FAILED-{nb.stem}")
                    finally:
                        try:
                            _shutdown_kernels(base, token)
                        except OSError as exc:
                            failures.append(f"{name}: could not shut its kernel down ({exc})")
                try:
                    check_report(driver, REPORT)
                except (Failed, WebDriverException) as exc:
                    failures.append(str(exc))
                    screenshot(driver, "FAILED-report")
                try:
                    check_print(driver, REPORT)
                except (Failed, WebDriverException, OSError,
                        subprocess.CalledProcessError) as exc:
                    failures.append(str(exc))
        except Failed as exc:
            failures.append(str(exc))
        finally:
            if driver is not None:
                driver.quit()
            signal.alarm(0)
    elapsed = time.monotonic() - started
    for failure in failures:
        log(f"FAILED {failure}")
    checks = len(notebooks) + 2
    log(f"took {elapsed:.0f} s; screenshots in {SHOTS.relative_to(ROOT)}/")
    log(f"{checks - min(len(failures), checks)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
