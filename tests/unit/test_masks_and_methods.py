"""Masks, classic methods and the LDFA crop geometry, checked numerically (no database, no model)."""

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.anonymization.methods.gauss import GaussParams, gauss
from ldfa.plugin.anonymization.methods.pixelate import PixelateParams, pixelate
from ldfa.plugin.anonymization.methods.solid import SolidParams, solid
from ldfa.plugin.geometry.masks import blend_weights, face_region, face_shape, paste_region, union_mask
from ldfa.plugin.geometry.windows import square_window


def textured(height=120, width=160, seed=0):
    """Noise with structure: high-frequency energy everywhere, different values per pixel."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def high_frequency_energy(pixels: np.ndarray) -> float:
    p = pixels.astype(np.float64)
    return float(np.mean(np.diff(p, axis=0) ** 2) + np.mean(np.diff(p, axis=1) ** 2))


def test_union_mask_is_the_boxes_grown_by_the_blend_ring_and_clipped_to_the_image():
    mask = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]])
    assert mask.shape == (50, 100) and mask.dtype == bool
    assert mask.sum() == 20 * 20 and mask[10:30, 10:30].all()
    grown = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]], grow=1.5)
    assert grown[5:35, 5:35].all() and grown.sum() == 30 * 30
    ring = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]], fade_px=4)
    assert ring[6:34, 10:30].all() and ring[10:30, 6:34].all()  # 4 px on every side ...
    assert not ring[5, 20] and not ring[20, 34] and not ring[6, 6]  # ... rounded at the corners
    assert (mask <= ring).all()
    # A face over the top-left corner is clipped, not wrapped or shifted.
    corner = union_mask(100, 50, [[-0.05, -0.1, 0.1, 0.2]])
    assert corner[:5, :5].all() and corner.sum() == 25
    # The ellipse goes through the box's corners: the whole box and a little more.
    ellipse = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]], ellipse=True)
    assert (mask <= ellipse).all() and ellipse[20, 8] and not ellipse[8, 8]
    assert not union_mask(100, 50, []).any()


@pytest.mark.parametrize("ellipse", [False, True])
def test_the_face_is_replaced_whole_and_the_blend_fades_outside_it(ellipse):
    region = face_region(100, 100, [0.0, 0.2, 0.4, 0.4])  # touches the left image edge
    paste = paste_region(region, 4, 100, 100, ellipse)
    shape = face_shape(region, paste, ellipse)
    weights = blend_weights(shape, 4)
    x1, y1, x2, y2 = region
    px1, py1 = paste[:2]
    box = weights[y1 - py1 : y2 - py1, x1 - px1 : x2 - px1]
    assert (box == 1.0).all(), "every pixel of the face box is replaced"
    assert (weights[shape] == 1.0).all() and (weights[~shape] < 1.0).all()
    above = weights[: y1 - py1, 20 - px1]  # the column above the box's middle, top to bottom
    if not ellipse:
        assert list(np.round(above, 2)) == [0.2, 0.4, 0.6, 0.8], "fading out over 4 px"
    assert paste[0] == 0 and paste[1] < y1 and paste[3] > y2
    assert (blend_weights(np.ones((3, 3), dtype=bool), 4) == 1.0).all()


def test_gauss_lowers_high_frequency_energy_in_the_box():
    image = textured()
    region = (40, 30, 100, 90)
    out = gauss(image, region, 60, GaussParams(blur_sigma_frac=0.1))
    assert out.shape == (60, 60, 3) and out.dtype == np.uint8
    before = high_frequency_energy(image[30:90, 40:100])
    assert high_frequency_energy(out) < 0.05 * before
    # Its mean colour stays (a blur, not a fill).
    assert abs(out.mean() - image[30:90, 40:100].mean()) < 5


def test_pixelate_blocks_are_constant_and_hold_their_mean_colour():
    image = textured()
    region = (40, 30, 104, 94)  # 64 px: 8 blocks of 8
    out = pixelate(image, region, 64, PixelateParams(pixel_blocks=8))
    crop = image[30:94, 40:104].astype(np.float64)
    for by in range(0, 64, 8):
        for bx in range(0, 64, 8):
            block = out[by : by + 8, bx : bx + 8].reshape(-1, 3)
            assert (block == block[0]).all()
            expected = crop[by : by + 8, bx : bx + 8].reshape(-1, 3).mean(axis=0)
            assert np.abs(block[0] - expected).max() <= 0.5
    # Ragged edges (a region not divisible by the block) are blocks too; large faces get
    # larger blocks (here 16 px: 128 / 8).
    ragged = pixelate(image, (0, 0, 21, 13), 13, PixelateParams(pixel_blocks=2, pixel_block_min_px=1))
    assert (ragged[7:, 14:] == ragged[7, 14]).all()
    large = pixelate(textured(200, 200), (0, 0, 128, 128), 128, PixelateParams())
    assert (large[:16, :16] == large[0, 0]).all() and (large[:16, 16] != large[0, 0]).any()


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two crops' grey levels: 1 is the same picture."""
    a, b = (np.asarray(Image.fromarray(x).convert("L"), dtype=np.float64).ravel() for x in (a, b))
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_classic_methods_change_a_10_px_face_as_much_as_the_papers_baselines(sample_photos):
    """Relative strength alone (8 blocks across, sigma 1/8 of the face) leaves a 10-px face
    much as it was (2-px blocks, sigma 1.25: grey-level correlation with the face 0.86 and
    0.89); the paper's absolute minimums (8-px blocks, sigma 3 px) leave 0.45 and 0.20."""
    photo = Image.open(sample_photos[0]).convert("RGB")  # the astronaut, face at about 180-300 x
    image = np.asarray(photo.resize((photo.width * 10 // 120, photo.height * 10 // 120)))
    region = (15, 3, 25, 13)  # her face, now 10 px
    face = image[3:13, 15:25]
    assert ncc(pixelate(image, region, 10, PixelateParams(pixel_block_min_px=1)), face) > 0.8
    assert ncc(pixelate(image, region, 10, PixelateParams()), face) < 0.6
    assert ncc(gauss(image, region, 10, GaussParams(blur_sigma_min_px=0)), face) > 0.8
    assert ncc(gauss(image, region, 10, GaussParams()), face) < 0.6


def test_solid_is_the_fill_colour():
    out = solid(textured(), (5, 6, 25, 16), 10, SolidParams(fill_color=(12, 200, 7)))
    assert out.shape == (10, 20, 3) and (out == (12, 200, 7)).all()


@pytest.mark.parametrize("paste", [(0, 0, 20, 30), (140, 90, 160, 120), (60, 0, 80, 10), (70, 50, 80, 56)])
def test_the_diffusion_crop_is_square_with_context_and_inside_the_image(paste):
    """AUTOMATIC1111's "only masked" crop: the face plus 32 px, squared, moved inside the image."""
    left, top, side = square_window(paste, 32, 160, 120)
    x1, y1, x2, y2 = paste
    assert side == max(x2 - x1, y2 - y1) + 64  # 1:1, as the 512x512 canvas: nothing stretched
    assert left <= x1 and x2 <= left + side and top <= y1 and y2 <= top + side
    assert 0 <= left and left + side <= 160 and 0 <= top and top + side <= 120
    # a face in the open is centred in its crop
    if paste == (70, 50, 80, 56):
        assert (left + side / 2, top + side / 2) == (75, 53)


def test_a_crop_larger_than_the_image_stays_centred_on_the_face():
    left, top, side = square_window((10, 10, 30, 90), 32, 200, 100)  # 80 + 64 > 100 rows
    assert side == 144 and top == round(50 - 72) and 0 <= left <= 200 - 144
