"""The README's before/after picture: scikit-image's public-domain astronaut (packaged with the
library, so the picture may be shown), its face found by ldfa's detector and replaced by the
classic ``gauss`` method, original and result side by side.

Offline there are no diffusion weights, so the picture shows a classic method, and its caption
says so. Regenerate it with::

    PYTHONPATH=tests .venv/bin/python -m ldfa_testing.before_after docs/images
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import ldfa

NAME = "before_after.png"
SIZE = 320  # each half, in pixels: small enough for the README, the face still plain to see


def picture(method: str = "gauss") -> Image.Image:
    """The astronaut and its anonymized copy, side by side, each ``SIZE`` px square."""
    import skimage.data

    before = Image.fromarray(skimage.data.astronaut())
    faces = ldfa.detect_image(before)
    if not faces:
        raise SystemExit("ldfa's detector found no face on the astronaut")
    after = ldfa.anonymize_image(before, faces, method=method)
    halves = [np.asarray(image.resize((SIZE, SIZE), Image.LANCZOS)) for image in (before, after)]
    gap = np.full((SIZE, 8, 3), 255, dtype=np.uint8)
    return Image.fromarray(np.hstack([halves[0], gap, halves[1]]))


def main(folder: str) -> Path:
    out = Path(folder) / NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    picture().save(out, optimize=True)
    print(out)
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
