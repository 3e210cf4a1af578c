"""Where residual similarity starts to mean "still recognisable": on street-faces, the faces some
identity model can judge, anonymized with a range of blur and mosaic strengths; per residual bin the
share some model (the strictest judge) calls the same person.

    .venv/bin/python bench/residual_at_risk.py

Chooses ``ldfa.plugin.metrics.verdict.RESIDUAL_AT_RISK``: the residual from which faces no model
can judge count as at risk. Detects faces with ldfa's defaults on the 11 frames of
../shared/data/street-faces, anonymizes them 8 ways, measures identity and residual, and prints
per residual bin the judged pairs and how many some model still calls the same person.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test helpers: ldfa_testing
STREET = HERE.parents[1] / "shared" / "data" / "street-faces"
# field -> (method, params): from a light touch to the defaults and past them
VARIANTS = {
    "anon_g_light": ("gauss", {"blur_sigma_frac": 0.03, "blur_sigma_min_px": 0.7}),
    "anon_g_mild": ("gauss", {"blur_sigma_frac": 0.06, "blur_sigma_min_px": 1.5}),
    "anon_gauss": ("gauss", {}),
    "anon_g_strong": ("gauss", {"blur_sigma_frac": 0.25, "blur_sigma_min_px": 6.0}),
    "anon_p_fine": ("pixelate", {"pixel_blocks": 24, "pixel_block_min_px": 1}),
    "anon_p_mid": ("pixelate", {"pixel_blocks": 12, "pixel_block_min_px": 2}),
    "anon_pixelate": ("pixelate", {}),
    "anon_solid": ("solid", {}),
}
BINS = [i / 10 for i in range(-2, 11)]


def main() -> None:
    if not STREET.is_dir():
        sys.exit(f"needs the shared test photos at {STREET}")
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-residual-at-risk")
    import numpy as np

    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.metrics.measure import measure_version
    from ldfa_testing import street_faces

    dataset = street_faces.load(STREET, f"residual-at-risk-{uuid.uuid4().hex[:6]}")
    print(detect_faces(dataset, progress=False), file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ldfa-residual-at-risk-") as out:
        for field, (method, params) in VARIANTS.items():
            anonymize_faces(dataset, method=method, field=field, output_dir=Path(out) / field,
                            progress=False, **params)
            measure_version(dataset, field, measures=("identity", "residual"), progress=False)
            same, res, dlib, facenet = (dataset.values(f"faces.detections.{field}_{n}", unwind=True)
                                        for n in ("same_person", "residual", "dlib_dist", "facenet_dist"))
            sizes = []
            for w, h, faces in zip(*dataset.values(["width", "height", "faces"])):
                sizes += [min(d.bounding_box[2] * w, d.bounding_box[3] * h) for d in faces.detections]
            rows += [{"field": field, "same": s, "residual": r, "size": z, "dlib": d, "facenet": f}
                     for s, r, z, d, f in zip(same, res, sizes, dlib, facenet)]
    judged = [r for r in rows if r["same"] is not None and r["residual"] is not None]
    print(f"faces per version {len(rows) // len(VARIANTS)}, judged (face, version) pairs {len(judged)}")
    print("| residual | judged | same person | share |\n|---|---|---|---|")
    for low, high in zip(BINS, BINS[1:]):
        cell = [r for r in judged if low <= r["residual"] < high or (high == 1.0 and r["residual"] == 1.0)]
        if cell:
            hits = sum(r["same"] for r in cell)
            print(f"| {low:.1f}-{high:.1f} | {len(cell)} | {hits} | {hits / len(cell):.2f} |")
    hit = sorted(r["residual"] for r in judged if r["same"])
    miss = sorted(r["residual"] for r in judged if not r["same"])
    print("same person: residual min", hit[:5], "p5", np.percentile(hit, 5) if hit else None)
    print("not same: residual max", miss[-5:])
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        caught = sum(r["residual"] >= t for r in judged if r["same"])
        flagged = sum(r["residual"] >= t for r in judged if not r["same"])
        small = [r for r in judged if r["size"] < 24]  # nearest the faces no model judges
        print(f"threshold {t}: same-person faces at/above {caught}/{len(hit)}, different-person faces "
              f"at/above {flagged}/{len(miss)}; under 24 px: same person "
              f"{sum(r['residual'] >= t for r in small if r['same'])}/{sum(r['same'] for r in small)}, "
              f"others {sum(r['residual'] >= t for r in small if not r['same'])}/"
              f"{sum(not r['same'] for r in small)}")
    for field in VARIANTS:
        unjudged = [r for r in rows if r["field"] == field and r["same"] is None]
        print(field, "unjudged", len(unjudged), "residual >= 0.5:",
              sum(r["residual"] is not None and r["residual"] >= 0.5 for r in unjudged),
              "judged", sum(r["field"] == field and r["same"] is not None for r in rows),
              "same", sum(r["field"] == field and r["same"] is True for r in rows))


if __name__ == "__main__":
    main()
