"""The shared face geometry (``ldfa.plugin.geometry``) is plain NumPy: every stage and
``ldfa.anonymize_image`` use it without loading torch. Masks, windows and crops are checked
numerically in ``test_masks_and_methods.py``."""

import subprocess
import sys
from pathlib import Path

import pytest

from ldfa.plugin.geometry.masks import face_region, paste_region, union_mask

GEOMETRY = Path(__file__).resolve().parents[2] / "plugin" / "geometry"


def test_importing_every_geometry_module_loads_no_torch():
    names = sorted(f"ldfa.plugin.geometry.{p.stem}" for p in GEOMETRY.glob("*.py") if p.stem != "__init__")
    assert "ldfa.plugin.geometry.masks" in names
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in ('torch', 'fiftyone') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("box", [(1.2, 0.1, 0.1, 0.1), (0.1, 1.2, 0.1, 0.1), (-0.5, 0.1, 0.1, 0.1),
                                 (0.1, -0.5, 0.1, 0.1)], ids=["right", "below", "left", "above"])
def test_a_box_wholly_outside_the_image_is_an_empty_region_inside_it(box):
    """Clipped to the image on every side, so the paste region and its mask are empty, not an
    error: the face is skipped and said so, and the batch goes on."""
    x1, y1, x2, y2 = region = face_region(100, 80, box)
    assert 0 <= x1 <= x2 <= 100 and 0 <= y1 <= y2 <= 80 and (x2 - x1) * (y2 - y1) == 0
    px1, py1, px2, py2 = paste_region(region, 4, 100, 80)
    assert px1 <= px2 and py1 <= py2
    assert not union_mask(100, 80, [box], fade_px=4).any()
