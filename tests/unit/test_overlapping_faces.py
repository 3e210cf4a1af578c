"""No pixel inside any face box survives from the original, whatever the neighbours do: tiny
faces inside a larger face's blend ring, overlapping faces, any order, palette images."""

import itertools
import json

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImageTask, anonymize_images
from ldfa.plugin.anonymization.methods import METHODS
from ldfa.plugin.geometry.masks import face_region, paste_region

W, H = 160, 120
# Pixel boxes (x, y, w, h): a large face; 8x11 faces 1-3 px beside it (inside its ring) and
# across its corner; a medium face overlapping it; two tiny faces touching each other.
BOXES = [(30, 20, 40, 44), (71, 30, 8, 11), (66, 60, 8, 11), (22, 52, 16, 16),
         (100, 80, 8, 11), (108, 82, 8, 11)]


def _original() -> np.ndarray:
    """Noise: every pixel its own colour, so a blend with the original is never the fill."""
    return np.random.default_rng(7).integers(40, 256, (H, W, 3), dtype=np.uint8)


def _anonymize(tmp_path, pixels, boxes, mode="RGB", inpainter=None, **params):
    source, target = tmp_path / "in.png", tmp_path / "out.png"
    image = Image.fromarray(pixels)
    (image if mode == "RGB" else image.quantize(24)).save(source)
    faces = tuple(FaceTask(str(i), (x / W, y / H, w / W, h / H)) for i, (x, y, w, h) in enumerate(boxes))
    config = AnonymizationConfig.build(**params)
    [result] = anonymize_images([ImageTask("s", str(source), str(target), faces)], config, inpainter)
    assert result.error is None
    out = np.asarray(Image.open(target).convert("RGB"))
    return np.asarray(Image.open(source).convert("RGB")), out, result, config


def _regions(boxes, config):
    return [face_region(W, H, (x / W, y / H, w / W, h / H), config.mask_grow) for x, y, w, h in boxes]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_solid_fills_every_box_whole_in_any_order(tmp_path, order):
    boxes = [BOXES[i] for i in order] + BOXES[4:]
    _, out, _, config = _anonymize(tmp_path, _original(), boxes, method="solid", fill_color=(0, 0, 0))
    for x1, y1, x2, y2 in _regions(boxes, config):
        assert (out[y1:y2, x1:x2] == 0).all(), (x1, y1, x2, y2)


@pytest.mark.parametrize("method", ["gauss", "pixelate"])
@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 0, 3, 2), (2, 3, 0, 1)])
def test_every_box_pixel_is_a_method_output_never_a_blend(tmp_path, method, order):
    """Each pixel in a box is the output of one of the faces covering it, exactly."""
    boxes = [BOXES[i] for i in order] + BOXES[4:]
    original, out, _, config = _anonymize(tmp_path, _original(), boxes, method=method)
    regions = _regions(boxes, config)
    outputs = []
    for x1, y1, x2, y2 in regions:
        paste = paste_region((x1, y1, x2, y2), config.mask_blur_px, W, H)
        full = np.full((H, W, 3), -1, dtype=int)  # -1: this face does not cover the pixel
        new = METHODS[method].paint(original, paste, min(x2 - x1, y2 - y1), config)
        full[y1:y2, x1:x2] = new[y1 - paste[1] : y2 - paste[1], x1 - paste[0] : x2 - paste[0]]
        outputs.append(full)
    for x1, y1, x2, y2 in regions:
        got = out[y1:y2, x1:x2].astype(int)
        one_of = [(o[y1:y2, x1:x2] == got).all(-1) for o in outputs]
        assert np.logical_or.reduce(one_of).all(), (method, order, (x1, y1, x2, y2))
        assert (got != original[y1:y2, x1:x2]).any(-1).mean() > 0.9


def test_palette_image_gets_the_fill_itself(tmp_path):
    """A palette PNG without the fill colour: the fill is added to its palette, not replaced by
    the photo's nearest colour; every other pixel keeps its palette index."""
    source, out, _, config = _anonymize(tmp_path, _original(), BOXES, mode="P", method="solid",
                                        fill_color=(0, 0, 0))
    for x1, y1, x2, y2 in _regions(BOXES, config):
        assert (out[y1:y2, x1:x2] == 0).all()
    before, after = Image.open(tmp_path / "in.png"), Image.open(tmp_path / "out.png")
    assert after.mode == "P"
    unchanged = (out == source).all(-1)
    assert (np.asarray(after)[unchanged] == np.asarray(before)[unchanged]).all()


def test_a_face_diffusion_fails_on_is_never_left_as_it_was(tmp_path):
    """With ``fallback`` ldfa too, a face diffusion cannot run on gets a classic method."""
    def out_of_memory(jobs):
        return ["CUDA out of memory"] * len(jobs)

    _, out, result, config = _anonymize(tmp_path, _original(), BOXES[:2], inpainter=out_of_memory,
                                        method="ldfa", fallback="ldfa", fill_color=(0, 0, 0))
    for x1, y1, x2, y2 in _regions(BOXES[:2], config):
        assert (out[y1:y2, x1:x2] == 0).all()
    assert {f["method"] for f in result.facts.values()} == {"solid"}


def test_kitti_tiny_face_is_filled_whole(shared_data, tmp_path):
    """street-faces' KITTI frame: a palette PNG whose darkest colour is (8, 9, 9), with an 8x11
    face; a neighbour's ring crossing it makes no difference."""
    folder = shared_data / "street-faces"
    coco = json.loads((folder / "faces_coco.json").read_text())
    image = next(i for i in coco["images"] if i["file_name"].endswith("kitti_000000.png"))
    w, h = image["width"], image["height"]
    boxes = [a["bbox"] for a in coco["annotations"] if a["image_id"] == image["id"]]
    x, y, bw, bh = boxes[0]
    boxes.append([x + bw + 2, y - 6, 24, 30])  # a larger neighbour whose ring crosses the face
    faces = tuple(FaceTask(str(i), (bx / w, by / h, bwi / w, bhi / h))
                  for i, (bx, by, bwi, bhi) in enumerate(boxes))
    config = AnonymizationConfig.build(method="solid", fill_color=(0, 0, 0))
    target = tmp_path / "kitti.png"
    [result] = anonymize_images([ImageTask("k", str(folder / image["file_name"]), str(target), faces)],
                                config, None)
    assert result.error is None
    out = np.asarray(Image.open(target).convert("RGB"))
    for face in faces:
        x1, y1, x2, y2 = face_region(w, h, face.box, config.mask_grow)
        assert (out[y1:y2, x1:x2] == 0).all(), (x1, y1, x2, y2)
