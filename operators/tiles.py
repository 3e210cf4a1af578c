"""Face tiles the audit panel draws itself: each face's original crop beside its anonymized one,
framed in the colour of its status and labelled with its numbers, tiny faces drawn large. Licence
plates get the same tiles, labelled with their own numbers: the share of the plate changed and the
text OCR reads there before and after.

FiftyOne's patches grid draws a 10-px street face as a blob in an 80-px thumbnail labelled
"face": no reviewer can judge it there. Here each face is cut, with some of its surroundings,
from the original and from the version's file, scaled so its shorter side is at least
``MIN_FACE_PX``, and cached as PNG named after the file, its modification time and the box (a
redone face is never shown stale; each crop is cut once). One Plotly figure lays the pairs out.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ldfa.operators.side_by_side import face_hover, media_url, status_color
from ldfa.plugin.errors import ImageError
from ldfa.plugin.io.images import display_size, read_rgb
from ldfa.plugin.schema import (
    PLATE_TEXT,
    STATUS_WORDS,
    face_status,
    identity_distance,
    plate_fact,
    residual,
    same_person,
)

CACHE = Path(tempfile.gettempdir()) / "ldfa-crops"
MIN_FACE_PX = 64  # a face's shorter side in its crop: tiny faces are upscaled to this
MAX_CROP_PX = 192  # large faces are scaled down to this: the tile shows ~130 px of it anyway
MARGIN = 0.25  # surroundings kept on each side, in face sizes: a face alone is hard to read
PAIRS_PER_ROW = 3
GAP = 0.06  # between the two crops of a pair, in crop widths
PAIR_WIDTH, ROW_HEIGHT = 2 + GAP + 0.3, 1.42  # a pair's cell and a row (crops + two label lines)
ROW_PX = 200  # a row's height on screen


@dataclass
class Tile:
    """One face to show: where it is, in which files, and what to write on it."""

    face_id: str
    sample_id: str
    original: str  # the original image's path
    anonymized: str | None  # the version's image path (None: not written)
    box: list[float]  # relative [x, y, w, h]
    lines: tuple[str, str]  # the status in words, then its numbers
    color: str  # the status's colour
    hover: str


def crop_box(box: list[float], width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel region cut for a face: the face with ``MARGIN`` around it, square where the
    image allows."""
    x, y, w, h = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    side = max(w, h) * (1 + 2 * MARGIN)
    cx, cy = x + w / 2, y + h / 2
    left, top = max(0, math.floor(cx - side / 2)), max(0, math.floor(cy - side / 2))
    right, bottom = min(width, math.ceil(cx + side / 2)), min(height, math.ceil(cy + side / 2))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def crop_scale(box: list[float], width: int, height: int, region: tuple[int, int, int, int]) -> float:
    """How much a face's crop is scaled: up until the face's shorter side is ``MIN_FACE_PX``; a
    larger face down until the crop is ``MAX_CROP_PX``, never below ``MIN_FACE_PX`` for the face."""
    shorter = max(1.0, min(box[2] * width, box[3] * height))
    longest = max(region[2] - region[0], region[3] - region[1])
    return max(MIN_FACE_PX / shorter, min(1.0, MAX_CROP_PX / longest))


def _cached(path: str, box: list[float], cache: Path) -> Path:
    stamp = os.stat(path).st_mtime_ns
    key = f"{os.path.abspath(path)}|{stamp}|{[round(v, 6) for v in box]}|{MIN_FACE_PX}|{MAX_CROP_PX}|{MARGIN}"
    return cache / f"{hashlib.sha1(key.encode()).hexdigest()}.png"


def crop_files(path: str, boxes: list[list[float]], cache: Path = CACHE) -> list[Path]:
    """The crops of ``boxes`` (relative) from image ``path``, cut once and cached; ImageError when
    the image cannot be read."""
    try:
        targets = [_cached(path, box, cache) for box in boxes]
    except OSError as e:
        raise ImageError(f"{path}: {e.strerror}") from None
    if all(t.exists() for t in targets):
        return targets
    pixels, _ = read_rgb(path)
    height, width = pixels.shape[:2]
    cache.mkdir(parents=True, exist_ok=True)
    for box, target in zip(boxes, targets):
        if target.exists():
            continue
        region = crop_box(box, width, height)
        scale = crop_scale(box, width, height, region)
        crop = Image.fromarray(pixels[region[1]:region[3], region[0]:region[2]])
        size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
        partial = target.with_suffix(f".{os.getpid()}.part")
        crop.resize(size, Image.LANCZOS).save(partial, format="PNG")
        os.replace(partial, target)  # a concurrent request never reads half a file
    return targets


def tile_crops(tiles: list[Tile], cache: Path = CACHE) -> dict[str, tuple[Path | None, Path | None]]:
    """Face id -> (original crop, anonymized crop), each image decoded at most once; a crop is
    None where its file cannot be read."""
    wanted: dict[str, list[tuple[str, int, Tile]]] = defaultdict(list)
    for tile in tiles:
        wanted[tile.original].append(("original", 0, tile))
        if tile.anonymized:
            wanted[tile.anonymized].append(("anonymized", 1, tile))
    found: dict[str, list] = {t.face_id: [None, None] for t in tiles}
    for path, uses in wanted.items():
        try:
            crops = crop_files(path, [tile.box for _, _, tile in uses], cache)
        except ImageError:
            continue
        for (_, slot, tile), crop in zip(uses, crops):
            found[tile.face_id][slot] = crop
    return {face: (a, b) for face, (a, b) in found.items()}


def tiles_figure(tiles: list[Tile], cache: Path = CACHE) -> tuple[list[dict], dict]:
    """Plotly (traces, layout): per face its original crop (left) and anonymized crop (right),
    framed in its status colour, its two label lines under them; a click on a pair gives its
    face id (``ids``)."""
    crops = tile_crops(tiles, cache)
    rows = max(1, math.ceil(len(tiles) / PAIRS_PER_ROW))
    images, notes, shapes = [], [], []
    xs, ys = [], []
    for k, tile in enumerate(tiles):
        row, col = divmod(k, PAIRS_PER_ROW)
        x0, y0 = col * PAIR_WIDTH, row * ROW_HEIGHT
        for j, crop in enumerate(crops[tile.face_id]):
            if crop is not None:
                images.append({"source": media_url(str(crop)), "xref": "x", "yref": "y",
                               "x": x0 + j * (1 + GAP), "y": y0, "sizex": 1, "sizey": 1, "sizing": "contain",
                               "xanchor": "left", "yanchor": "top", "layer": "below"})
        shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": x0 - 0.02, "y0": y0 - 0.02,
                       "x1": x0 + 2 + GAP + 0.02, "y1": y0 + 1.02, "line": {"color": tile.color, "width": 2}})
        for n, text in enumerate(tile.lines):
            notes.append({"text": f"<b>{text}</b>" if n == 0 else text, "xref": "x", "yref": "y",
                          "x": x0 + 1 + GAP / 2, "y": y0 + 1.05 + 0.17 * n, "showarrow": False,
                          "xanchor": "center", "yanchor": "top",
                          "font": {"size": 12, "color": tile.color if n == 0 else None}})
        xs.append(x0 + 1 + GAP / 2)
        ys.append(y0 + 0.5)
    trace = {"type": "scatter", "mode": "markers", "x": xs, "y": ys, "ids": [t.face_id for t in tiles],
             "hovertext": [t.hover for t in tiles], "hoverinfo": "text", "showlegend": False,
             "marker": {"size": 60, "symbol": "square", "opacity": 0}}
    width = PAIRS_PER_ROW * PAIR_WIDTH
    layout = {"height": rows * ROW_PX + 10, "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
              "xaxis": {"range": [-0.05, width - 0.25], "visible": False, "fixedrange": True},
              "yaxis": {"range": [rows * ROW_HEIGHT, -0.05], "visible": False, "fixedrange": True,
                        "scaleanchor": "x"},
              "images": images, "annotations": notes, "shapes": shapes, "hovermode": "closest",
              "dragmode": False, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
    return [trace], layout


EMBEDDER_NAMES = {"facenet": "FaceNet", "dlib": "dlib"}
MISSED = "missed"  # the queue of faces the detector no longer finds (``status_counts``' key)


def closest_judge(face, field: str, thresholds: dict[str, float]) -> str | None:
    """The model closest to calling the face the same person, its distance against its threshold
    (``dlib 0.19 < 0.6``); None when no model measured a distance."""
    found = []
    for name, threshold in thresholds.items():
        distance = _attr(face, identity_distance(field, name))
        if distance is not None and math.isfinite(distance) and threshold > 0:
            found.append((distance / threshold, name, distance, threshold))
    if not found:
        return None
    _, name, distance, threshold = min(found)
    return f"{EMBEDDER_NAMES.get(name, name)} {distance:.2f} {'<' if distance < threshold else '≥'} {threshold:g}"


def tile_lines(face, field: str, queue: str, thresholds: dict[str, float], size_px: float) -> tuple[str, str]:
    """A tile's two lines: its status (or the queue of detector misses) in words, then the numbers
    that decided it: the closest model's distance, else its residual similarity, and its size."""
    status = _attr(face, face_status(field))
    words = STATUS_WORDS.get(status, "not measured")
    judge, kept = closest_judge(face, field, thresholds), _attr(face, residual(field))
    numbers = [judge] if judge else []
    numbers += [f"residual {kept:.2f}"] if kept is not None else []
    numbers.append(f"{size_px:.0f} px")
    if queue == MISSED:
        return "missed by the detector", " · ".join([words, *numbers[-2:]])
    if judge is None and _attr(face, same_person(field)) is False:
        return f"{words} · no face left", " · ".join(numbers)
    if judge is None:
        return f"{words} · no model judges", " · ".join(numbers)
    return words, " · ".join(numbers)


def plate_lines(plate, field: str, size_px: float) -> tuple[str, str]:
    """A plate tile's two lines: its status in words, then what decided it: the share of the
    plate changed, the text OCR reads on the original and on ``field`` (with the characters of the
    original's text recovered, if any), and its height."""
    status, cover, after, recovered = (_attr(plate, name) for name in (
        face_status(field), *(plate_fact(field, fact) for fact in ("cover", "ocr_text", "recovered"))))
    numbers = [f"cover {cover:.2f}"] if cover is not None else []
    numbers.append(f"OCR {_text(_attr(plate, PLATE_TEXT))} → {_text(after)}" + (
        f" ({recovered} recovered)" if recovered else ""))
    numbers.append(f"{size_px:.0f} px")
    return STATUS_WORDS.get(status, "not measured"), " · ".join(numbers)


def plate_hover(plate, number: int, field: str) -> str:
    """What a reviewer wants to know about one plate in one version."""
    facts = {"source": "source", "score": "confidence", "status": face_status(field),
             "cover": plate_fact(field, "cover"), "original's text": PLATE_TEXT,
             "text read": plate_fact(field, "ocr_text"), "recovered": plate_fact(field, "recovered")}
    lines = [f"plate {number} · {field}"]
    for word, key in facts.items():
        value = _attr(plate, key)
        if value is not None:
            lines.append(f"{word}: {f'{value:.3f}' if isinstance(value, float) else value}")
    if plate.tags:
        lines.append("tags: " + ", ".join(plate.tags))
    return "<br>".join(lines)


# what a tile says about one face or plate: (label, rank in the queue, shorter side in px) -> (lines, hover)
Describe = Callable[[object, int, float], tuple[tuple[str, str], str]]


def face_describer(field: str, queue: str, thresholds: dict[str, float]) -> Describe:
    """The lines and hover of a face's tile in ``field``'s ``queue``."""
    return lambda face, rank, size_px: (tile_lines(face, field, queue, thresholds, size_px),
                                        face_hover(face, rank, field))


def plate_describer(field: str) -> Describe:
    """The lines and hover of a licence plate's tile in ``field``."""
    return lambda plate, rank, size_px: (plate_lines(plate, field, size_px), plate_hover(plate, rank, field))


def queue_tiles(source, patches, field: str, labels_field: str, describe: Describe) -> list[Tile]:
    """The tiles of the faces or plates of ``patches`` (patches of ``source``'s ``labels_field``,
    in queue order), each described by ``describe``."""
    sample_ids, labels = patches.values(["sample_id", labels_field])
    ids, originals, versions = source.select(list(set(sample_ids))).values(["id", "filepath", field])
    paths = {i: (o, v) for i, o, v in zip(ids, originals, versions)}
    tiles, sizes = [], {}
    for rank, (sample_id, label) in enumerate(zip(sample_ids, labels), start=1):
        original, anonymized = paths[sample_id]
        if original not in sizes:
            sizes[original] = display_size(original)
        width, height = sizes[original]
        size_px = min(label.bounding_box[2] * width, label.bounding_box[3] * height)
        lines, hover = describe(label, rank, size_px)
        tiles.append(Tile(label.id, sample_id, original, anonymized, list(label.bounding_box), lines,
                          status_color(_attr(label, face_status(field))), hover))
    return tiles


def _text(text: str | None) -> str:
    """Text OCR read, quoted; a dash where it read nothing."""
    return f'"{text}"' if text else "—"


def _attr(face, key: str):
    return face[key] if face.has_field(key) else None
