"""A real browser on the real App: the audit layout renders, a click filters, versions side by side;
an anonymized video plays with its face tracks drawn.

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
from ldfa_testing.videos import cut, shared_clip

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


# Every <video> element the page makes, kept with the furthest time it played to: the App's player
# draws its video onto a canvas and never puts the element in the page.
RECORD_VIDEOS = """
window.ldfaVideos = [];
const create = Document.prototype.createElement;
Document.prototype.createElement = function (tag, options) {
  const element = create.call(this, tag, options);
  if (String(tag).toLowerCase() === "video") {
    element.playedTo = 0;
    element.addEventListener("timeupdate", () => {
      element.playedTo = Math.max(element.playedTo, element.currentTime);
    });
    window.ldfaVideos.push(element);
  }
  return element;
};"""
VIDEOS_SEEN = ("return window.ldfaVideos.map(v => ({src: v.src, ready: v.readyState, played: v.playedTo, "
               "error: v.error && (v.error.code + ' ' + v.error.message)}))")


@pytest.fixture
def walkway(dataset, tmp_path):
    """8 frames of walkway.mp4 at a quarter size, faces detected and tracked, anonymized with solid, measured
    over time; persistent, for the App server."""
    import fiftyone as fo

    from ldfa.plugin.io.video import probe
    from ldfa.plugin.metrics.temporal import measure_temporal

    (tmp_path / "clips").mkdir()
    clip = cut(shared_clip("walkway.mp4"), tmp_path / "clips" / "walkway.mp4", 8, 0.25)
    dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    ldfa.detect_faces(dataset, progress=False)
    ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "solid", progress=False)
    measure_temporal(dataset, "anon_solid", embedder=None, progress=False)
    dataset.persistent = True
    dataset.save()
    return dataset


def test_app_plays_the_anonymized_video_with_its_face_tracks(walkway):
    from urllib.parse import quote

    from ldfa.plugin.io.video import read_frames

    ARTIFACTS.mkdir(exist_ok=True)
    sample = walkway.first()
    anonymized = quote(sample.anon_solid, safe="")
    with audit_app(walkway) as url, chromium() as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIDEOS})
        driver.get(url)
        try:
            wait_for(driver, lambda d: d.find_elements("css selector", DRAWN_TILE), "the video's grid thumbnail")
            # the audit panel: the figures over time, and a line on what does not apply to videos
            wait_for(driver, lambda d: all(w in text_of(d, AUDIT_PANEL) for w in (
                "anon_solid", "leaked face frames", "do not apply to videos")), "the table over time")
            driver.save_screenshot(str(ARTIFACTS / "video_audit.png"))

            # the side-by-side: frame 1 of the original and of the anonymized video, as images
            images = open_side_by_side(driver)
            assert len(images) == 2 and all("ldfa-frames" in src for src in images), images
            wait_for(driver, lambda d: sum("ldfa-frames" in u for u in fetched_media(d)) >= 2,
                     "the two frames loaded")
            assert "frame 1 of 8" in text_of(driver, SIDE_BY_SIDE)
            driver.save_screenshot(str(ARTIFACTS / "video_side_by_side.png"))

            # the App's own player, switched to the anonymized version (Media field, in the settings)
            click(driver, driver.find_element("css selector", "[data-cy=panel-tab-fo-sample-modal-plugin]"))
            click(driver, driver.find_elements("css selector", "[data-cy=action-display-options]")[-1])
            click(driver, wait_for(driver, lambda d: d.find_element(
                "css selector", "[data-cy=radio-button-anon_solid]"), "the media field switch"))
            player = wait_for(driver, lambda d: next((v for v in d.execute_script(VIDEOS_SEEN)
                                                      if anonymized in v["src"] and v["ready"] >= 2), None),
                              "the anonymized video loaded")
            assert player["error"] is None
            click(driver, driver.find_elements("css selector", "[data-cy=action-display-options]")[-1])  # closed
            time.sleep(2)  # the first frame and its labels drawn
            canvas = driver.find_element("css selector", "[data-cy=modal-looker-container] canvas")
            seen = drawn(driver, canvas)
            driver.save_screenshot(str(ARTIFACTS / "video_player.png"))
            # the face tracks, listed: the sidebar counts every face of every frame
            faces = walkway.count("frames.faces.detections")
            counts = driver.find_elements("css selector", "[data-cy=sidebar-field-container-frames\\.faces] "
                                                          "[data-cy=entry-count-all]")
            assert str(faces) in [count.text for count in counts]

            click(driver, driver.find_element("css selector", "[data-cy=looker-video-play-button]"))
            played = wait_for(driver, lambda d: next((v for v in d.execute_script(VIDEOS_SEEN)
                                                      if anonymized in v["src"] and v["played"] > 0.2), None),
                              "the anonymized video playing")
            assert played["error"] is None
        finally:
            driver.save_screenshot(str(ARTIFACTS / "video_played.png"))
    seen.save(ARTIFACTS / "seen_video_frame.png")
    first = Image.fromarray(next(read_frames(sample.anon_solid)))
    picture = letterboxed(seen, first.size)
    assert similarity(picture, first) > 0.9  # frame 1 is what the player shows, and the anonymized one:
    biggest = max((d.bounding_box for d in sample.frames[1]["faces"].detections), key=lambda b: b[2] * b[3])
    middle = [0.2 + 0.6 * t for t in (0, 0, 1, 1)]  # the inner 60 % of the face box
    original = Image.fromarray(next(read_frames(sample.filepath)))
    assert brightness(picture, biggest, middle) < 25 and brightness(original, biggest, middle) > 50
    # ... with the face boxes of frame 1 drawn over it where the faces are: their edges differ from
    # the frame far more than the rest of the picture does
    change = np.abs(np.asarray(picture.convert("L"), dtype=float) - np.asarray(
        first.resize(picture.size, Image.BILINEAR).convert("L"), dtype=float))
    boxes = [d.bounding_box for d in sample.frames[1]["faces"].detections]
    edges, near = (box_mask(boxes, picture.size, inner, outer) for inner, outer in ((-2, 2), (-40, 40)))
    assert np.median(change[~near]) < 10 and change[edges].mean() > max(25, 4 * change[~near].mean()), (
        change[edges].mean(), change[~near].mean())


def letterboxed(seen, size: tuple[int, int]):
    """The part of the player's canvas ``seen`` that shows a video of ``size``: fitted, centred."""
    scale = min(seen.width / size[0], seen.height / size[1])
    width, height = size[0] * scale, size[1] * scale
    left, top = (seen.width - width) / 2, (seen.height - height) / 2
    return seen.crop((round(left), round(top), round(left + width), round(top + height)))


def box_mask(boxes, size: tuple[int, int], inner: int, outer: int) -> np.ndarray:
    """Pixels of a ``size`` picture from ``inner`` to ``outer`` pixels off the edges of the relative
    ``boxes`` (negative: inside)."""
    ys, xs = np.mgrid[:size[1], :size[0]]
    mask = np.zeros((size[1], size[0]), bool)
    for x, y, w, h in boxes:
        x1, y1, x2, y2 = x * size[0], y * size[1], (x + w) * size[0], (y + h) * size[1]
        # distance outside the box (positive) or inside it (negative, to the nearest edge)
        outside = np.maximum.reduce([x1 - xs, xs - x2, y1 - ys, ys - y2])
        mask |= (outside >= inner) & (outside <= outer)
    return mask
