"""`make test-browser`: JupyterLab, as `make lab` starts it, driven by Debian's
Chromium through Playwright.  Opens the training notebook, runs its first
cells (one of them skipped by the #@tab mechanism) and reads the outputs
off the page.  The notebook's Chinese heading must be drawn with a CJK font
(tests/browser/cjk.py; test_slides.py shows the check failing without one)."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import cjk  # tests/browser/cjk.py, beside this file (pytest puts this folder on the path)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTEBOOK = "03-training-and-prediction.ipynb"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install chromium "
                    "(.ci/run does this)")
    port, token = _free_port(), "d2l-browser-test"
    work = tmp_path_factory.mktemp("lab")
    # Serve a copy, so that JupyterLab's checkpoints and autosaves never touch
    # the repository's clean notebooks.
    shutil.copytree(ROOT / "notebooks", work / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "build"))
    shutil.copytree(ROOT / "img", work / "img")
    from conftest import mirror_dir  # tests/conftest.py, which pytest has imported
    env = dict(os.environ, D2L_QUICK="1", D2L_TAB="pytorch", D2L_DATA_MIRROR=str(mirror_dir()),
               D2L_DATA_DIR=str(work / "cache"),
               JUPYTER_CONFIG_DIR=str(work / "config"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    # The same command as `make lab`, made headless and bound to loopback.
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={work / 'notebooks'}",
         "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited:\n" + proc.stdout.read())
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("jupyter lab did not start in 60 s")
    yield base, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_training_notebook_runs_first_cells_in_chromium(lab):
    from playwright.sync_api import sync_playwright
    base, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # wait for the kernel to be idle before running cells
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=90_000)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        outputs = page.locator(".jp-OutputArea-output")
        # Run cells one by one until the setup, the pytorch cell and the skipped
        # mxnet cell have all printed.
        for _ in range(12):
            page.keyboard.press("Shift+Enter")
            page.wait_for_timeout(300)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=120_000)
            text = " ".join(outputs.all_inner_texts())
            if "cell skipped: the active tab is pytorch" in text and "active tab is pytorch" in text:
                break
        text = " ".join(outputs.all_inner_texts())
        heading = ".jp-MarkdownCell .jp-RenderedMarkdown h1"
        page.locator(heading).first.scroll_into_view_if_needed()
        chinese, fonts = cjk.renders_cjk(page, heading)
        page.screenshot(path=str(ROOT / "build" / "browser-test.png") if (ROOT / "build").is_dir()
                        else "/tmp/browser-test.png")
        browser.close()
    assert "d2l_helpers: active tab is pytorch (quick mode)" in text
    assert "[#@tab mxnet] cell skipped: the active tab is pytorch" in text
    assert "Error" not in text and "Traceback" not in text
    assert chinese, f"the Chinese heading is not drawn with a CJK font: {fonts}"
