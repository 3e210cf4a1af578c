"""A real browser on the real App: the dataset, the anonymized media field and the audit panel render.

Starts the App server headless on loopback and drives Debian's Chromium through its chromedriver
(never Selenium Manager, which would try to download a browser). The screenshot lands in
test-artifacts/ for a person (or CI's artifact upload) to look at.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import ldfa
from ldfa.plugin.audit import audit_spaces

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (./dev.sh test installs them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--window-size=1600,1000",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_app_shows_dataset_anonymized_media_field_and_audit_panel(dataset, sample_photos,
                                                                     tmp_path, browser):
    import fiftyone as fo
    from selenium.webdriver.support.ui import WebDriverWait

    png, jpg = sample_photos
    face = fo.Detection(label="face", bounding_box=[0.36, 0.08, 0.2, 0.3], confidence=0.9)
    dataset.add_samples([fo.Sample(filepath=str(p), faces=fo.Detections(detections=[face.copy()]))
                         for p in (png, jpg)])
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "pix", progress=False)
    dataset.persistent = True  # the App server reads the dataset by name
    dataset.app_config.grid_media_field = "anon_pixelate"
    dataset.save()

    session = fo.launch_app(dataset, spaces=audit_spaces(), remote=True, address="127.0.0.1",
                            port=free_port(), auto=False)
    try:
        browser.get(session.url)
        page = lambda d: d.page_source  # noqa: E731  (the App sets no innerText for some text)
        # the dataset (name, faces field), the anonymized media field and the audit panel's tab
        wanted = (dataset.name[:20], "faces", "anon_pixelate", "Anonymization audit")
        try:
            WebDriverWait(browser, 90, poll_frequency=1).until(
                lambda d: all(w in page(d) for w in wanted),
                message=f"App page lacks {[w for w in wanted if w not in page(browser)]}")
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            browser.save_screenshot(str(ARTIFACTS / "audit.png"))
    finally:
        session.close()
    assert (ARTIFACTS / "audit.png").stat().st_size > 10_000
