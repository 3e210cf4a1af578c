"""A real browser on the real App: the audit layout renders, a click filters, versions side by side.

The App server runs headless on loopback and Debian's Chromium opens it (``ldfa_testing.app_browser``).
Screenshots land in test-artifacts/ for a person (or CI's artifact upload) to look at.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa_testing.app_browser import (
    AUDIT_PANEL,
    CHROMEDRIVER,
    CHROMIUM,
    DRAWN_TILE,
    SIDE_BY_SIDE,
    audit_app,
    chromium,
    click,
    drawn,
    fetched_media,
    open_side_by_side,
    text_of,
    wait_for,
)
from ldfa_testing.photos import ASTRONAUT_FACE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver at /usr/bin: ./dev.sh test installs them "
           "with apt-get when it runs as root or with passwordless sudo and reaches Debian's servers")]


@pytest.fixture
def audit(audited):
    import fiftyone as fo

    audited.persistent = True  # the App server, another process, loads it by name
    audited.save()
    audit = ldfa.open_audit(audited)
    yield audit
    fo.delete_dataset(audit.name)


def test_app_shows_the_audit_filters_on_click_and_compares_versions_side_by_side(audit, audited):
    ARTIFACTS.mkdir(exist_ok=True)
    with audit_app(audit) as url, chromium() as driver:
        driver.get(url)
        try:
            # the grid: both images of the original slice, fetched and drawn
            wait_for(driver, lambda d: len(d.find_elements("css selector", DRAWN_TILE)) == 2,
                     "two grid thumbnails drawn")
            # the audit panel: the comparison table of the recorded runs
            wait_for(driver, lambda d: all(w in text_of(d, AUDIT_PANEL) for w in (
                "distance", "anon_pixelate", "anon_solid", "0.483")), "the comparison table")
            driver.save_screenshot(str(ARTIFACTS / "audit.png"))

            # the second table: the same versions by face size
            assert all(w in text_of(driver, AUDIT_PANEL) for w in ("face px", "<16", "16-32"))
            # a row click (the comparison table comes first): the grid switches to that
            # version, filtered to its risky faces
            row = next(td for td in driver.find_elements("css selector", f"{AUDIT_PANEL} td")
                       if td.text == "anon_solid")
            click(driver, row)
            wait_for(driver, lambda d: d.find_element("css selector", "[data-cy=selector-slice]")
                     .get_attribute("value") == "anon_solid" and "FilterLabels" in d.find_element(
                         "css selector", "[data-cy=view-bar]").get_attribute("outerHTML"),
                     "the anon_solid slice filtered to its risky faces")
            driver.save_screenshot(str(ARTIFACTS / "audit_filtered.png"))

            # the sample view: original and both versions, drawn from their own files
            images = open_side_by_side(driver)
            sample = audited.first()
            for path in (sample.filepath, sample.anon_pixelate, sample.anon_solid):
                assert any(path.replace("/", "%2F") in src for src in images), path
            wait_for(driver, lambda d: sum("&v=" in u for u in fetched_media(d)) >= 3,
                     "the three side-by-side images loaded")
            assert "face(s)" in text_of(driver, "[data-cy=panel-content-side_by_side]")
            time.sleep(2)  # the browser paints the loaded images
            seen = seen_versions(driver, sample)
        finally:
            driver.save_screenshot(str(ARTIFACTS / "side_by_side.png"))
    # what a person sees: each version's own picture on screen, and where the original shows
    # the astronaut's face the solid version shows the black fill
    for field, picture in seen.items():
        picture.save(ARTIFACTS / f"seen_{field}.png")
        assert similarity(picture, Image.open(sample[field])) > 0.9, field
    face = [0.2 + 0.6 * t for t in (0, 0, 1, 1)]  # the inner 60 % of the face box
    assert brightness(seen["filepath"], ASTRONAUT_FACE, face) > 60
    assert brightness(seen["anon_solid"], ASTRONAUT_FACE, face) < 25


def seen_versions(driver, sample) -> dict:
    """The on-screen picture of each version of ``sample`` in the side-by-side panel."""
    found = {}
    for element in driver.find_elements("css selector", f"{SIDE_BY_SIDE} image"):
        href = element.get_attribute("href")
        for field in ("filepath", "anon_pixelate", "anon_solid"):
            if sample[field].replace("/", "%2F") in href:
                found[field] = drawn(driver, element)
    assert len(found) == 3, found
    return found


def similarity(seen, picture) -> float:
    """Correlation of two pictures' grey levels at 48 x 48."""
    a, b = (np.asarray(p.convert("L").resize((48, 48), Image.BOX), dtype=float).ravel()
            for p in (seen, picture))
    return float(np.corrcoef(a, b)[0, 1])


def brightness(picture, box, inner) -> float:
    """Mean grey level of ``picture`` in the ``inner`` part (relative x1, y1, x2, y2) of the
    relative face ``box``."""
    x, y, w, h = box
    width, height = picture.size
    left, top = (x + inner[0] * w) * width, (y + inner[1] * h) * height
    right, bottom = (x + inner[2] * w) * width, (y + inner[3] * h) * height
    return float(np.asarray(picture.convert("L").crop((left, top, right, bottom))).mean())
