"""Report pages in real headless Chromium: images load, no console errors, links resolve.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make setup-test`` installs them).
The test fails, not skips, when they are missing, unless RNNLAB_SKIP_BROWSER=1.
Screenshots go to RNNLAB_SCREENSHOTS (a folder) when set, else to the test's tmp_path.
"""

import dataclasses
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from rnnlab import experiments
from rnnlab.cli import main
from test_sweep import TINY  # tests/ is on sys.path under pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
TINY_CHAOS = {
    "hidden_size": 40,
    "gains": [0.5, 2.0],
    "num_networks": 2,
    "t_obs": 40.0,
    "t_burn": 20.0,
    "num_exponents": 8,
    "t_obs_spectrum": 20.0,
    "t_autocorrelation": 60.0,
    "theory_gains": 3,
}
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and DRIVER):
        if os.environ.get("RNNLAB_SKIP_BROWSER") == "1":
            pytest.skip("RNNLAB_SKIP_BROWSER=1 and no chromium/chromedriver")
        pytest.fail("chromium and chromedriver are missing; run `make setup-test`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


_IMAGES = "return Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth])"
_LINKS = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
_RAW = (
    "return Array.from(document.querySelectorAll('[src],[href]'))"
    ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
)


def _check_page(driver, page: Path, screenshots: Path) -> list[Path]:
    """Open ``page``; assert images, console and links; save a screenshot; linked pages."""
    driver.get(page.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    images = driver.execute_script(_IMAGES)
    for src, complete, width in images:
        assert complete and width > 0, f"{page}: image {src} did not load"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors {errors}"
    for target in driver.execute_script(_RAW):  # relative links only (or inline data)
        assert not target.startswith(("http:", "https:", "//", "/", "file:")), target
    linked = []
    for href in driver.execute_script(_LINKS):
        url = urlparse(href)
        assert url.scheme == "file", href
        target = Path(unquote(url.path))
        assert target.is_file(), f"{page}: link {href} does not resolve"
        if target.suffix == ".html":
            linked.append(target)
    shot = screenshots / (page.parent.name + "-" + page.stem + ".png")
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return linked


def test_reports_load_in_chromium(tmp_path, monkeypatch, browser):
    chaos = experiments.REGISTRY["chaos-onset"]
    tiny_chaos = dataclasses.replace(chaos, quick={**chaos.quick, **TINY_CHAOS})
    monkeypatch.setattr(experiments, "REGISTRY", {"chaos-onset": tiny_chaos, "tiny": TINY})
    out = tmp_path / "runs"
    assert main(["reproduce", "all", "--quick", "--out", str(out)]) == 0
    sweep = out / "sweep"
    argv = ["sweep", "tiny", "--grid", "size=8,16", "--grid", "amplitude=0.5,1", "--seeds", "2"]
    assert main([*argv, "--workers", "1", "--out", str(sweep)]) == 0
    screenshots = Path(os.environ.get("RNNLAB_SCREENSHOTS") or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    pages = _check_page(browser, out / "index.html", screenshots)
    assert {p.parent.name for p in pages} == {"chaos-onset", "tiny"}
    for page in [*pages, sweep / "report.html"]:
        _check_page(browser, page, screenshots)
    assert len(list(screenshots.glob("*.png"))) >= 4
