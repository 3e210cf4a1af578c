"""Synthetic licence plate: a plausible plate with random characters pasted over the region.

A plate blurred or filled stays a visible hole in a street frame; a plate that is still a plate
keeps the image natural (and a plate detector still finds it) while no character of the
original survives: the characters are drawn at random, never read from the original. The new
plate takes the region's own light and dark colours, sharpness and sensor noise, so it sits in
the image. Its characters come from the plate's own seed (the engine's per-box or per-track
seed, ``Method.seeded``): the same plate keeps its new text in every frame of its track and on a
rerun, and a redone plate gets another.
"""

from __future__ import annotations

import functools
import math
import string
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ldfa.plugin.anonymization.methods.base import Method

# Plate layouts by the box's width / height: long European plates, North American ones, and
# square (two-line) plates. L: a letter, N: a digit.
PATTERNS = (
    (3.2, ("LL NNN LL", "LL NN LLL", "L NNN LLL", "LLL NNNN", "LL NNNN L")),
    (1.4, ("LLL NNNN", "NLLL NNN", "LLL NNN")),
    (0.0, ("LL\nNNNN", "LLL\nNNN", "NN\nLLLL")),
)
LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IOQ")  # as most countries issue
RENDER_PX = 96  # plates are drawn at least this tall, then reduced to the region's resolution
SIGMAS = (0.0, 0.4, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0)  # blurs tried to match the region's sharpness
INK_MAX = 0.6  # the characters at most this bright relative to the plate, so they read as text
PLATE_TOLERANCE = 0.35  # a pixel is of the plate's light colour within this share of its contrast
PLATE_FILL = 0.35  # a row or column of the plate: at least this share of it of the light colour
FILL_CONTEXT_PX = 8  # surroundings the rest of the box is filled in from


def random_text(rng: np.random.Generator, aspect: float) -> str:
    """Characters in a plate pattern fitting ``aspect`` (width / height), all drawn at random."""
    patterns = next(p for low, p in PATTERNS if aspect >= low)
    pattern = patterns[rng.integers(len(patterns))]
    pick = {"L": LETTERS, "N": string.digits}
    return "".join(pick[c][rng.integers(len(pick[c]))] if c in pick else c for c in pattern)


@dataclass(frozen=True)
class Plate:
    """A new plate for a box: where it lies in the box (x1, y1, x2, y2), its pixels, its text."""

    rect: tuple[int, int, int, int]
    pixels: np.ndarray
    text: str


def synthetic_plate(image: np.ndarray, region, face_px: int, params) -> np.ndarray:
    """The region with a new plate where the original's light rectangle was, the rest of its box
    filled in from around it (the box is grown beyond the plate); the engine's blend ring keeps
    the original pixels: a plate has a hard edge."""
    x1, y1, x2, y2 = region
    bx1, by1, bx2, by2 = _box(image.shape, region, getattr(params, "mask_blur_px", 0))
    out = _filled(image, (x1 + bx1, y1 + by1, x1 + bx2, y1 + by2), region)
    original = image[y1 + by1 : y1 + by2, x1 + bx1 : x1 + bx2]
    if original.size:
        plate = new_plate(original, getattr(params, "seed", 0), getattr(params, "plate_grow", 1.0))
        px1, py1, px2, py2 = plate.rect
        out[by1 + py1 : by1 + py2, bx1 + px1 : bx1 + px2] = plate.pixels
    return out


def new_plate(box: np.ndarray, seed: int = 0, grow: float = 1.0) -> Plate:
    """A plate for ``box`` (the pixels of a plate's box, H x W x 3 uint8, grown ``grow`` times
    around the detected plate) in the plate's colours (read inside the detected box), sharpness
    and noise; random characters drawn with ``seed`` (the plate's own)."""
    rng = np.random.default_rng(seed)
    h, w = box.shape[:2]
    (cy1, cy2), (cx1, cx2) = _middle(h, h / grow), _middle(w, w / grow)
    background, ink = _colours(box[cy1:cy2, cx1:cx2].astype(np.float32))
    x1, y1, x2, y2 = rect = plate_rect(box, background, ink, grow)
    pixels = box[y1:y2, x1:x2].astype(np.float32)
    text = random_text(rng, (x2 - x1) / (y2 - y1))
    drawn = _draw(x2 - x1, y2 - y1, text, background, ink)
    noise = rng.normal(0.0, _noise_sigma(pixels), drawn.shape).astype(np.float32)
    sigma = _matching_blur(drawn, noise, _sharpness(pixels))
    return Plate(rect, np.rint(np.clip(_blur(drawn, sigma) + noise, 0, 255)).astype(np.uint8), text)


def _matching_blur(drawn: np.ndarray, noise: np.ndarray, target: float) -> float:
    """The blur that gives ``drawn`` (with ``noise``) the original's sharpness, interpolated
    between the tried ones: a 20 px plate stays as soft as the image around it."""
    previous = (SIGMAS[0], math.inf)
    for sigma in SIGMAS:
        sharpness = _sharpness(np.clip(_blur(drawn, sigma) + noise, 0, 255))
        if sharpness <= target:
            if math.isinf(previous[1]):
                return sigma
            share = (previous[1] - target) / max(previous[1] - sharpness, 1e-6)
            return previous[0] + share * (sigma - previous[0])
        previous = (sigma, sharpness)
    return SIGMAS[-1]


def plate_rect(pixels: np.ndarray, background: np.ndarray, ink: np.ndarray,
               grow: float = 1.0) -> tuple[int, int, int, int]:
    """Where the plate lies in its box (x1, y1, x2, y2), at least the detected box the engine
    grew by ``grow``: the runs of rows, then of columns within them, around the middle, mostly
    of the plate's ``background`` colour (averaged over a character's width: a vertical stroke
    does not end the plate), its border included."""
    distance = np.linalg.norm(pixels.astype(np.float32) - background, axis=-1)
    light = distance < max(PLATE_TOLERANCE * np.linalg.norm(background - ink), 12.0)
    h, w = light.shape
    y1, y2 = _span(light.mean(axis=1), h / grow)
    columns = light[y1:y2].mean(axis=0)
    width = max(1, (y2 - y1) // 2)
    x1, x2 = _span(np.convolve(columns, np.ones(width) / width, mode="same"), w / grow)
    return x1, y1, x2, y2


def _span(profile: np.ndarray, least: float) -> tuple[int, int]:
    """The run of ``profile`` at least ``PLATE_FILL``, from its fullest middle entry outwards, a
    few pixels wider (the plate's border), and at least the middle ``least`` entries (all there
    is when the run is under half of the profile: no plate-like run found)."""
    n = len(profile)
    inner = _middle(n, least)
    middle = profile[n // 4 : n - n // 4]
    start = end = n // 4 + int(np.argmax(middle)) if len(middle) else 0
    while start > 0 and profile[start - 1] >= PLATE_FILL:
        start -= 1
    while end < n - 1 and profile[end + 1] >= PLATE_FILL:
        end += 1
    pad = max(1, round(0.04 * n))
    start, end = max(0, start - pad), min(n, end + 1 + pad)
    if end - start < n / 2:
        return inner
    return min(start, inner[0]), max(end, inner[1])


def _middle(n: int, length: float) -> tuple[int, int]:
    """The middle ``length`` of ``n`` entries (at least one), rounded outward."""
    start = max(0, min(math.floor((n - length) / 2), (n - 1) // 2))
    return start, n - start


def _filled(image: np.ndarray, box, region) -> np.ndarray:
    """``region`` of ``image`` with ``box`` (absolute) filled in from the pixels around it."""
    import cv2  # only for this fill

    h, w = image.shape[:2]
    x1, y1, x2, y2 = region
    cx1, cy1 = max(0, x1 - FILL_CONTEXT_PX), max(0, y1 - FILL_CONTEXT_PX)
    cx2, cy2 = min(w, x2 + FILL_CONTEXT_PX), min(h, y2 + FILL_CONTEXT_PX)
    context = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
    hole = np.zeros(context.shape[:2], dtype=np.uint8)
    hole[box[1] - cy1 : box[3] - cy1, box[0] - cx1 : box[2] - cx1] = 255
    if hole.all():  # nothing around it: its mean colour
        mean = np.rint(context.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
        return np.broadcast_to(mean, (y2 - y1, x2 - x1, 3)).copy()
    filled = cv2.inpaint(context, hole, 3, cv2.INPAINT_TELEA)
    return filled[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1].copy()


def _box(shape, region, blend_px: float) -> tuple[int, int, int, int]:
    """The plate box inside ``region``, relative to it: the engine widened the box by its blend
    ring on each side the image did not clip (``geometry.masks.paste_region``)."""
    x1, y1, x2, y2 = region
    ring = math.ceil(max(blend_px, 0))
    left, top = (ring if x1 > 0 else 0), (ring if y1 > 0 else 0)
    right, bottom = (ring if x2 < shape[1] else 0), (ring if y2 < shape[0] else 0)
    w, h = x2 - x1, y2 - y1
    if w - left - right < 1 or h - top - bottom < 1:
        return 0, 0, w, h
    return left, top, w - right, h - bottom


def _luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _colours(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plate's light colour (the brighter pixels, highlights left out) and its characters':
    the darkest pixels' brightness in the light colour's tint (the same light falls on both),
    kept dark enough to read as characters."""
    flat = pixels.reshape(-1, 3)
    lum = _luminance(flat)
    low, mid, high = np.percentile(lum, [10, 80, 98])
    light = flat[(lum >= mid) & (lum <= high)]
    background = np.median(light if len(light) else flat, axis=0)
    brightness = max(float(_luminance(background)), 1e-3)
    dark = min(float(np.median(lum[lum <= low])), INK_MAX * brightness)
    return background, background * dark / brightness


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=RENDER_PX)


def _draw(w: int, h: int, text: str, background: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The plate drawn large, a thin rounded border and the characters filling it, reduced to
    w x h by area averaging (float32 RGB)."""
    scale = max(1, math.ceil(RENDER_PX / h))
    width, height = w * scale, h * scale
    plate = Image.new("L", (width, height), 0)  # 0: background, 255: ink
    draw = ImageDraw.Draw(plate)
    border = max(1, round(0.04 * min(height, width / 2)))
    margin = border // 2
    draw.rounded_rectangle([margin, margin, width - 1 - margin, height - 1 - margin],
                           radius=3 * border, outline=255, width=border)
    glyphs = _glyphs(text)
    box_w, box_h = width - 6 * border, round((height - 4 * border) * 0.8)
    if box_w > 0 and box_h > 0:
        fit = min(box_w / glyphs.width, box_h / glyphs.height)
        # Plate typefaces are condensed or wide: stretch across at most 1.5 x, either way
        size = (min(box_w, round(glyphs.width * fit * 1.5)), min(box_h, round(glyphs.height * fit * 1.5)))
        glyphs = glyphs.resize(size, Image.Resampling.LANCZOS)
        plate.paste(255, ((width - size[0]) // 2, (height - size[1]) // 2), glyphs)
    alpha = np.asarray(plate.resize((w, h), Image.Resampling.BOX), dtype=np.float32)[..., None] / 255
    return (1 - alpha) * background + alpha * ink


@functools.lru_cache(maxsize=64)
def _glyphs(text: str) -> Image.Image:
    """``text`` in bold (the font stroked), cropped to its ink."""
    font = _font()
    stroke = RENDER_PX // 40
    box = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox((0, 0), text, font=font, stroke_width=stroke,
                                                                    align="center")
    box = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))
    glyphs = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    ImageDraw.Draw(glyphs).multiline_text((-box[0], -box[1]), text, font=font, fill=255, stroke_width=stroke,
                                          stroke_fill=255, align="center")
    return glyphs


def _noise_sigma(pixels: np.ndarray) -> float:
    """The sensor noise of the original on luminance: Immerkaer's Laplacian, its median (not
    its mean) so that the characters' edges do not count as noise."""
    lum = _luminance(pixels)
    if min(lum.shape) < 3:
        return 0.0
    laplace = (lum[:-2, :-2] + lum[:-2, 2:] + lum[2:, :-2] + lum[2:, 2:]
               - 2 * (lum[1:-1, :-2] + lum[1:-1, 2:] + lum[:-2, 1:-1] + lum[2:, 1:-1]) + 4 * lum[1:-1, 1:-1])
    return float(np.median(np.abs(laplace)) / (0.6745 * 6))


def _sharpness(pixels: np.ndarray) -> float:
    """The strongest edges' gradient over the contrast (about 1 / the edges' width in px):
    how sharp the plate is, whatever its brightness and layout."""
    lum = _luminance(pixels)
    if min(lum.shape) < 2:
        return math.inf
    low, high = np.percentile(lum, [3, 97])
    gradient = np.hypot(np.diff(lum, axis=0)[:, :-1], np.diff(lum, axis=1)[:-1])
    return float(np.percentile(gradient, 98) / max(high - low, 1.0))


def _blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    if sigma == 0:
        return pixels
    blurred = Image.fromarray(np.rint(pixels).astype(np.uint8)).filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(blurred, dtype=np.float32)


METHOD = Method("plate", "a synthetic licence plate with random characters", paint=synthetic_plate, kinds=("plate",),
                seeded=True)
