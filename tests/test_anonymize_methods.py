"""Masks, classic methods and the LDFA crop geometry, checked numerically (no database, no model)."""

import numpy as np
import pytest

from ldfa.plugin.diffusion import context_crop
from ldfa.plugin.masks import face_region, feather, region_mask, union_mask
from ldfa.plugin.methods import gauss, pixelate, solid


def textured(height=120, width=160, seed=0):
    """Noise with structure: high-frequency energy everywhere, different values per pixel."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def high_frequency_energy(pixels: np.ndarray) -> float:
    p = pixels.astype(np.float64)
    return float(np.mean(np.diff(p, axis=0) ** 2) + np.mean(np.diff(p, axis=1) ** 2))


def test_union_mask_covers_grown_boxes_clipped_to_the_image():
    mask = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]])
    assert mask.shape == (50, 100) and mask.dtype == bool
    assert mask.sum() == 20 * 20 and mask[10:30, 10:30].all()
    grown = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]], grow=1.5)
    assert grown[5:35, 5:35].all() and grown.sum() == 30 * 30
    # A face over the top-left corner is clipped, not wrapped or shifted.
    corner = union_mask(100, 50, [[-0.05, -0.1, 0.1, 0.2]])
    assert corner[:5, :5].all() and corner.sum() == 25
    ellipse = union_mask(100, 50, [[0.1, 0.2, 0.2, 0.4]], ellipse=True)
    assert ellipse[20, 20] and not ellipse[10, 10] and ellipse.sum() < 0.8 * 400
    assert (ellipse <= mask).all()
    assert not union_mask(100, 50, []).any()


def test_feather_fades_inward_only_and_not_along_image_edges():
    region = face_region(100, 100, [0.0, 0.2, 0.4, 0.4])  # touches the left image edge
    shape = region_mask(region)
    weights = feather(shape, 4, image_edges=(True, False, False, False))
    assert weights.shape == shape.shape and weights.max() == 1.0
    assert (weights[~shape] == 0).all()
    assert weights[20, 20] == 1.0  # deep inside
    assert 0 < weights[0, 20] < 0.5  # top border: fades
    assert weights[20, 0] == 1.0  # the image edge: the face goes on beyond it, no fade
    whole_image = feather(np.ones((3, 3), dtype=bool), 4, image_edges=(True,) * 4)
    assert (whole_image == 1.0).all()
    ellipse = region_mask(region, ellipse=True)
    assert (feather(ellipse, 4, (False,) * 4)[~ellipse] == 0).all()


def test_gauss_lowers_high_frequency_energy_in_the_box():
    image = textured()
    region = (40, 30, 100, 90)
    out = gauss(image, region, blur_sigma_frac=0.1)
    assert out.shape == (60, 60, 3) and out.dtype == np.uint8
    before = high_frequency_energy(image[30:90, 40:100])
    assert high_frequency_energy(out) < 0.05 * before
    # Its mean colour stays (a blur, not a fill).
    assert abs(out.mean() - image[30:90, 40:100].mean()) < 5


def test_pixelate_blocks_are_constant_and_hold_their_mean_colour():
    image = textured()
    region = (40, 30, 104, 94)  # 64 px: 8 blocks of 8
    out = pixelate(image, region, pixel_blocks=8)
    crop = image[30:94, 40:104].astype(np.float64)
    for by in range(0, 64, 8):
        for bx in range(0, 64, 8):
            block = out[by : by + 8, bx : bx + 8].reshape(-1, 3)
            assert (block == block[0]).all()
            expected = crop[by : by + 8, bx : bx + 8].reshape(-1, 3).mean(axis=0)
            assert np.abs(block[0] - expected).max() <= 0.5
    # Ragged edges (a region not divisible by the block) are blocks too.
    ragged = pixelate(image, (0, 0, 21, 13), pixel_blocks=2)
    assert (ragged[7:, 14:] == ragged[7, 14]).all()


def test_solid_is_the_fill_colour():
    out = solid(textured(), (5, 6, 25, 16), fill_color=(12, 200, 7))
    assert out.shape == (10, 20, 3) and (out == (12, 200, 7)).all()


@pytest.mark.parametrize("region", [(0, 0, 20, 30), (140, 90, 160, 120), (60, 0, 80, 10)])
def test_context_crop_puts_the_face_at_its_box_even_at_the_image_border(region):
    image = textured()
    crop, (bx1, by1, bx2, by2) = context_crop(image, region, context_px=32)
    x1, y1, x2, y2 = region
    assert crop.shape[:2] == (y2 - y1 + 64, x2 - x1 + 64)
    assert (crop[by1:by2, bx1:bx2] == image[y1:y2, x1:x2]).all()
    # Outside the image the context is the image mirrored at its edge.
    if x1 == 0:
        assert (crop[by1:by2, bx1 - 1] == image[y1:y2, 1]).all()
