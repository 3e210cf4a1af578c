"""Drive the FiftyOne App in Debian's headless Chromium: the browser test and the docs' screenshots.

Chromium runs through its own chromedriver (never Selenium Manager, which would try to download
a browser), with the flags that keep it off the network. As a script it photographs the demo's
audit for the README and the audit guide (run ``./dev.sh demo --no-app`` first)::

    PYTHONPATH=tests .venv/bin/python -m ldfa_testing.app_browser docs/
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", "--window-size=1920,1080")
TILE = "[data-cy=panel-content-Samples] [data-cy=looker] canvas"  # a grid thumbnail
DRAWN_TILE = f"{TILE}[canvas-loaded=true]"  # ... once its image is drawn
AUDIT_PANEL = "[data-cy=panel-content-anonymization_audit]"
SIDE_BY_SIDE = "[data-cy=panel-content-side_by_side]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Debian's chromedriver, with a throwaway profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="ldfa-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@contextlib.contextmanager
def audit_app(audit):
    """The App server on loopback showing ``audit`` in the audit layout; yields its URL. The
    server stops on leaving, SIGTERM included (``ldfa.operators.launch``)."""
    from ldfa.operators.launch import audit_session

    with audit_session(audit, free_port(), "127.0.0.1", remote=True, auto=False) as session:
        yield session.url


def app_processes(launcher: int, url: str) -> list:
    """The App's processes under the process ``launcher`` (a pid): the server listening on
    ``url``'s port and, above it, FiftyOne's service process that runs it and watches its launcher."""
    import psutil

    port = urlparse(url).port
    for process in psutil.Process(launcher).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in process.net_connections("tcp")):
                return [process.parent(), process]
    raise AssertionError(f"no process under {launcher} serves {url}")


def serving(url: str) -> bool:
    """Whether anything accepts connections at ``url``'s host and port."""
    parts = urlparse(url)
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((parts.hostname, parts.port)) == 0


def assert_app_stopped(processes: list, url: str, within: float = 0) -> None:
    """The App's ``processes`` have ended (a zombie has ended) and its port is free, at once or
    within ``within`` seconds."""
    import psutil

    def alive(process) -> bool:
        with contextlib.suppress(psutil.Error):
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        return False

    deadline = time.monotonic() + within
    while any(map(alive, processes)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(alive, processes)), f"the App outlived its launcher: {processes}"
    assert not serving(url), f"{url} still answers after the App's launcher ended"


def wait_for(driver, condition, what: str, timeout: float = 90):
    """Poll ``condition(driver)`` until truthy; fail saying ``what`` did not appear."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5,
                         ignored_exceptions=(WebDriverException,)).until(
        condition, message=f"the App did not show {what} within {timeout} s")


def text_of(driver, selector: str) -> str:
    return " ".join(e.text for e in driver.find_elements("css selector", selector))


def click(driver, element) -> None:
    """A DOM click: not blocked by the App's promotional pop-ups drawn over the page."""
    driver.execute_script("arguments[0].click()", element)


def fetched_media(driver) -> list[str]:
    """URLs of media files the page fetched from the App server successfully."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/media?filepath=') && (e.responseStatus || 200) === 200)"
        ".map(e => e.name)")


def open_side_by_side(driver, tile: int = 0) -> list[str]:
    """Open the ``tile``-th sample and the "Side by side" tab; returns the image URLs drawn."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains

    tab = "[data-cy=panel-tab-side_by_side]"
    for attempt in range(3):  # a click landing while the grid redraws is dropped by the App
        thumbnail = driver.find_elements("css selector", TILE)[tile]
        ActionChains(driver).move_to_element(thumbnail).pause(0.5).click().perform()
        try:
            found = wait_for(driver, lambda d: d.find_element("css selector", tab),
                             "the sample view's 'Side by side' tab", timeout=10)
            break
        except TimeoutException:
            if attempt == 2:
                raise
    click(driver, found)
    return wait_for(driver, lambda d: [e.get_attribute("href") for e in d.find_elements(
        "css selector", f"{SIDE_BY_SIDE} image")], "the side-by-side images")


def drawn(driver, element):
    """What the screen shows inside ``element``'s box, scrolled into view, as an RGB PIL image."""
    import io

    from PIL import Image

    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", element)
    time.sleep(0.5)  # the scroll's repaint
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    scale = driver.execute_script("return window.devicePixelRatio") or 1
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                "return [r.left, r.top, r.right, r.bottom]", element)
    return shot.crop(tuple(round(v * scale) for v in box))


def screenshots(out_dir: Path, dataset_name: str = "ldfa-demo") -> list[Path]:
    """The pictures of the README and the audit guide: the audit layout, then one image side by side."""
    import fiftyone as fo

    import ldfa

    out_dir.mkdir(parents=True, exist_ok=True)
    audit = ldfa.open_audit(fo.load_dataset(dataset_name))
    paths = [out_dir / "audit.png", out_dir / "side_by_side.png"]
    with audit_app(audit) as url, chromium() as driver:
        driver.get(url)
        wait_for(driver, lambda d: "distance" in text_of(d, AUDIT_PANEL) and len(
            d.find_elements("css selector", DRAWN_TILE)) > 0, "the grid and the audit table")
        time.sleep(5)  # let the thumbnails and plots finish drawing
        for button in driver.find_elements("xpath", "//button[text()='Dismiss']"):
            click(driver, button)  # FiftyOne's advertisement, drawn over the panel
        driver.save_screenshot(str(paths[0]))
        open_side_by_side(driver)
        time.sleep(5)
        driver.save_screenshot(str(paths[1]))
    return paths


if __name__ == "__main__":
    import os

    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")  # no analytics pop-up in the pictures
    for path in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
