"""How small a face the face mesh still reads: attributes at size S against the same face at full size.

    .venv/bin/python bench/attributes_by_size.py [--sizes 12 16 20 24 32 48 64]

Photos: the single-face photos of ``../shared/data/identities`` with faces of at least 64 px
(``ldfa_testing.identities``: the largest face ldfa's default detector finds). For each size S
the whole photo is downscaled (area averaging) so the face box's shorter side is S px, the box
and landmarks scaled with it, and the face mesh reads it as ``compute_attribute_differences``
reads an original. Its attributes are compared with the full-size mesh's (points scaled to the
small photo): the mean absolute pose difference, eye and mouth openness differences and the
landmark NME, as medians and 90th percentiles over the photos, plus how many the mesh still
finds. Also printed: the time of one mesh pass, and the spread of eye and mouth openness over
the photos at full size (what a real change of expression moves). ``attributes.MIN_FACE_PX``
is the smallest size whose median pose difference stays under 5 degrees and median NME under
0.05. Asserts nothing; skips, saying so, without
../shared/data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa.plugin.metrics.attributes_core import attributes_of, differences  # noqa: E402
from ldfa.plugin.models.face_mesh import Mesh, load_face_mesh  # noqa: E402
from ldfa_testing.identities import at_size, load_photos  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SIZES = (12, 16, 20, 24, 32, 48, 64)
FULL_MIN_PX = 64
MAX_POSE_DEG, MAX_NME = 5.0, 0.05


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    args = parser.parse_args(argv)
    root = SHARED / "identities"
    if not root.is_dir():
        print(f"skipped: {root} is missing (the shared photos are not part of the repository)")
        return 0
    model = load_face_mesh()
    photos = [p for p in load_photos(root) if p.face.size >= FULL_MIN_PX]
    full = []
    for photo in photos:
        image, face = at_size(photo, None)
        full.append(model.locate(image, face.box, face.landmarks[:2] if face.landmarks is not None else None))
    kept = [(p, m) for p, m in zip(photos, full) if m.found]
    print(f"{len(kept)} photos with a face of at least {FULL_MIN_PX} px that the mesh reads at full size")
    start = time.perf_counter()
    for photo, mesh in kept:
        model.read(photo.image, mesh.roi, pupils=False)
    print(f"one mesh pass: {(time.perf_counter() - start) / len(kept) * 1000:.1f} ms")
    seen = [attributes_of(m.points) for _, m in kept]
    print(f"at full size, eye openness spans {min(a.eye for a in seen):.2f}-{max(a.eye for a in seen):.2f} "
          f"and mouth openness {min(a.mouth for a in seen):.2f}-{max(a.mouth for a in seen):.2f}\n")
    print("| face px | read | pose diff ° (median / p90) | eye diff | mouth diff | NME (median / p90) |")
    print("|---|---|---|---|---|---|")
    smallest, holds = None, True
    for size in sorted(args.sizes, reverse=True):
        rows = []
        for photo, reference in kept:
            image, face = at_size(photo, size)
            scale = face.size / photo.face.size
            small = model.locate(image, face.box, face.landmarks[:2] if face.landmarks is not None else None)
            if small.found:
                rows.append(differences(Mesh(reference.points * scale, reference.pupils * scale,
                                             reference.score, reference.roi), small))
        pose = np.array([r["pose_diff_deg"] for r in rows])
        nme = np.array([r["landmark_nme"] for r in rows])
        eye = np.array([r["eye_diff"] for r in rows])
        mouth = np.array([r["mouth_diff"] for r in rows])
        print(f"| {size} | {len(rows)}/{len(kept)} | {np.median(pose):.2f} / {np.percentile(pose, 90):.2f} | "
              f"{np.median(eye):.3f} | {np.median(mouth):.3f} | {np.median(nme):.3f} / {np.percentile(nme, 90):.3f} |")
        holds = holds and np.median(pose) < MAX_POSE_DEG and np.median(nme) < MAX_NME and len(rows) == len(kept)
        smallest = size if holds else smallest
    print(f"\nsmallest size with median pose difference < {MAX_POSE_DEG} deg, median NME < {MAX_NME} "
          f"and every face read: {smallest} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
