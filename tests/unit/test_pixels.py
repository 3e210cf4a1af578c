"""``ldfa.anonymize_image`` is pixels in, pixels out: no FiftyOne, no torch, no files."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.plugin.errors import ImageError

FACE = [0.25, 0.2, 0.5, 0.5]


def test_a_classic_method_loads_neither_fiftyone_nor_torch():
    code = ("import sys, numpy as np, ldfa\n"
            "image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)\n"
            "out = ldfa.anonymize_image(image, [[0.25, 0.2, 0.5, 0.5]], method='pixelate')\n"
            "assert out.shape == image.shape and (out != image).any()\n"
            "print(sorted(m for m in ('fiftyone', 'torch') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_image_comes_back_as_the_type_it_was_given():
    array = np.full((40, 50, 3), 200, dtype=np.uint8)
    out = ldfa.anonymize_image(array, [FACE], method="solid", fill_color=(1, 2, 3))
    assert isinstance(out, np.ndarray) and out.shape == array.shape and (out[15:25, 13:37] == (1, 2, 3)).all()
    grey = ldfa.anonymize_image(array[..., 0], [FACE], method="solid")
    assert grey.shape == (40, 50) and grey[20, 25] == 0 and grey[0, 0] == 200
    pil = ldfa.anonymize_image(Image.fromarray(array), [FACE], method="solid")
    assert isinstance(pil, Image.Image) and pil.getpixel((25, 20)) == (0, 0, 0)
    # Faces as detect_image gives them, and no faces: the image as it was.
    same = ldfa.anonymize_image(array, [{"bounding_box": FACE, "confidence": 0.9}], method="solid")
    assert same[20, 25].tolist() == [0, 0, 0] and (same[0, 0] == 200).all()
    assert (ldfa.anonymize_image(array, [], method="gauss") == array).all()


def test_what_is_not_an_image_says_so():
    with pytest.raises(ImageError, match="uint8"):
        ldfa.anonymize_image(np.zeros((4, 4, 3), dtype=np.float32), [FACE], method="solid")
