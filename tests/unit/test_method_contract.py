"""The contract every registered anonymization method keeps, checked over ``METHODS`` (as
diffusers' pipeline tester checks every pipeline): a method added as one module is tested here
with no new test. Batched methods (diffusion) run it with the tiny random-weight pipeline, as an
integration test (tests/unit stays under a minute).

No pixel outside the faces' masks changes; every pixel inside every face box is a method's
output for a face covering it, never the original or a blend (neighbouring and overlapping faces
included); the same seed gives the same bytes; a batch of images gives what one at a time does;
grey, grey with alpha, RGBA, 16-bit grey, 16-bit colour and palette images keep their mode and
bit depth; a 1-px face and a face filling the frame are replaced.
"""

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImageTask, anonymize_images, load_painter
from ldfa.plugin.anonymization.methods import METHODS
from ldfa.plugin.geometry.masks import face_region, union_mask
from ldfa.plugin.pixels import anonymize_image

W, H = 96, 72
# Pixel boxes (x, y, w, h): a large face; a small one 2 px beside it (inside its blend ring);
# one overlapping its corner; two tiny faces touching each other.
PIXEL_BOXES = [(20, 12, 30, 34), (52, 20, 8, 10), (14, 40, 14, 14), (70, 50, 7, 9), (77, 52, 7, 9)]
BOXES = [(x / W, y / H, w / W, h / H) for x, y, w, h in PIXEL_BOXES]
FAST = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}  # the tiny pipeline, quickly


@pytest.fixture(params=[name for name, method in METHODS.items() if not method.batched and "face" in method.kinds])
def params(request) -> dict:
    """Each method that paints faces one by one (the plates-only method: test_plate_method.py); the
    batched ones (diffusion) run this contract in
    tests/integration/test_method_contract_batched.py, with the tiny pipeline."""
    return {"method": request.param}


def noise(shape=(H, W, 3), dtype=np.uint8, seed=0) -> np.ndarray:
    """Every pixel its own value (never 0, the solid fill), so a kept or blended original shows."""
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(top // 6, top, shape, dtype=dtype)


def masked(params, width=W, height=H, boxes=BOXES) -> np.ndarray:
    config = AnonymizationConfig.build(**params)
    return union_mask(width, height, boxes, config.mask_grow, config.mask_ellipse, config.mask_blur_px)


def test_only_masked_pixels_change_and_every_box_pixel_is_replaced(params):
    """Diffusion runs one face per call here, so that each face compares exactly with itself
    alone: faces diffused in one batch differ from the same faces alone by 1 in about 1 % of
    their pixels (torch on CPU)."""
    params = {**params, "batch_size": 1} if METHODS[params["method"]].batched else params
    original = noise()
    out = anonymize_image(original, BOXES, **params)
    assert out.shape == original.shape and out.dtype == original.dtype
    mask = masked(params)
    assert (out[~mask] == original[~mask]).all()
    # Each face alone: in the full run, every pixel of a box is one of these, exactly.
    regions = [face_region(W, H, box) for box in BOXES]
    alone = []
    for box, (x1, y1, x2, y2) in zip(BOXES, regions):
        covered = np.full(original.shape, -1)  # -1: this face does not cover the pixel
        covered[y1:y2, x1:x2] = anonymize_image(original, [box], **params)[y1:y2, x1:x2]
        alone.append(covered)
    for x1, y1, x2, y2 in regions:
        got = out[y1:y2, x1:x2].astype(int)
        assert np.logical_or.reduce([(a[y1:y2, x1:x2] == got).all(-1) for a in alone]).all()
        assert (got != original[y1:y2, x1:x2]).any(-1).mean() > 0.9


def test_the_same_seed_gives_the_same_bytes(params):
    original = noise()
    first = anonymize_image(original, BOXES, seed=3, **params)
    assert (anonymize_image(original, BOXES, seed=3, **params) == first).all()
    if METHODS[params["method"]].batched:  # a seeded method: another seed, another face
        assert (anonymize_image(original, BOXES, seed=4, **params) != first).any()


def test_a_batch_of_images_equals_one_at_a_time(params, tmp_path):
    config = AnonymizationConfig.build(**params)
    painter = load_painter(config)
    tasks = []
    for i, boxes in enumerate([BOXES, BOXES[:2], BOXES[3:]]):
        Image.fromarray(noise(seed=i)).save(tmp_path / f"{i}.png")
        faces = tuple(FaceTask(str(k), box) for k, box in enumerate(boxes))
        tasks.append(ImageTask(f"s{i}", str(tmp_path / f"{i}.png"), str(tmp_path / f"{i}-batch.png"), faces))
    assert all(r.error is None for r in anonymize_images(tasks, config, painter))
    for task in tasks:
        one = ImageTask(task.sample_id, task.filepath, task.target.replace("batch", "one"), task.faces)
        [result] = anonymize_images([one], config, painter)
        assert result.error is None
        assert open(one.target, "rb").read() == open(task.target, "rb").read()


def _image(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(noise((H, W), np.uint16))
    if mode == "P":
        return Image.fromarray(noise()).quantize(32)
    return Image.fromarray(noise()).convert(mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "I;16", "P"])
def test_an_image_keeps_its_mode_and_every_value_outside_the_masks(params, mode):
    image = _image(mode)
    out = anonymize_image(image, BOXES, **params)
    assert isinstance(out, Image.Image) and out.mode == mode and out.size == image.size
    before, after = np.asarray(image), np.asarray(out)
    mask = masked(params)
    assert after.dtype == before.dtype and (after[~mask] == before[~mask]).all()
    assert (after[mask] != before[mask]).any()
    if "A" in mode:
        assert (after[..., -1] == before[..., -1]).all(), "alpha is kept everywhere"


def test_a_16_bit_colour_png_keeps_every_bit_outside_the_masks(params, tmp_path):
    """Pillow reads a 48-bit PNG as 8-bit RGB: without OpenCV's full-depth read and write, every
    pixel outside the faces would lose its low byte."""
    import cv2
    original = noise(dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), original[..., ::-1])
    config = AnonymizationConfig.build(**params)
    faces = tuple(FaceTask(str(k), box) for k, box in enumerate(BOXES))
    task = ImageTask("s", str(tmp_path / "deep.png"), str(tmp_path / "out.png"), faces)
    [result] = anonymize_images([task], config, load_painter(config))
    assert result.error is None
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert out.dtype == np.uint16 and out.shape == original.shape
    mask = masked(params)
    assert (out[~mask] == original[~mask]).all()
    assert (out[mask] != original[mask]).any(-1).mean() > 0.9
    # In memory too: a uint16 array in, a uint16 array out, the same values.
    assert (anonymize_image(original, BOXES, key="s", **params) == out).all()


@pytest.mark.parametrize("box", [(40 / W, 30 / H, 1 / W, 1 / H), (0.0, 0.0, 1.0, 1.0)],
                         ids=["1-px face", "frame-filling face"])
def test_a_one_pixel_face_and_a_face_filling_the_frame_are_replaced(params, box):
    original = noise()
    out = anonymize_image(original, [box], **params)
    x1, y1, x2, y2 = face_region(W, H, box)
    assert (out[y1:y2, x1:x2] != original[y1:y2, x1:x2]).any(-1).mean() > 0.9
    mask = masked(params, boxes=[box])
    assert (out[~mask] == original[~mask]).all()
