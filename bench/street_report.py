"""The comparison report on real street frames: classic methods against the hand-labelled faces.

    .venv/bin/python bench/street_report.py [--methods gauss pixelate solid] [--model DIR]

On the 11 frames of ../shared/data/street-faces: detect faces with ldfa's defaults, anonymize
them with each method, then ``ldfa report``'s tables with the 82 hand-verified faces as the
ground truth of the detection mAP (``gt_field``), so the mAP columns say how well a plain face
detector still finds the real faces afterwards, by COCO area as in the LDFA paper. Residual
similarity and identity are measured on the detected faces. Prints both tables as Markdown.
``--model`` adds LDFA with that diffusion model (only real weights say anything about LDFA).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

HERE = Path(__file__).resolve().parent
STREET = HERE.parents[1] / "shared" / "data" / "street-faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["gauss", "pixelate", "solid"])
    parser.add_argument("--model", help="a diffusers inpainting model folder: adds the ldfa method")
    args = parser.parse_args()
    if not STREET.is_dir():
        sys.exit(f"needs the shared test photos at {STREET}")
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-street-report")
    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.metrics.report import comparison_table, size_table, to_markdown
    from ldfa_testing import street_faces

    dataset = street_faces.load(STREET, f"street-report-{uuid.uuid4().hex[:6]}")
    print(detect_faces(dataset, progress=False), file=sys.stderr)
    methods = [*args.methods, *(["ldfa"] if args.model else [])]
    with tempfile.TemporaryDirectory(prefix="ldfa-street-report-") as out:
        for method in methods:
            params = {"model": args.model} if method == "ldfa" else {}
            print(anonymize_faces(dataset, method=method, output_dir=Path(out) / method,
                                  progress=False, **params), file=sys.stderr)
        rows = comparison_table(dataset, gt_field="ground_truth", progress=False)
        print(to_markdown(rows, "street-faces (gt: the 82 hand-verified faces)",
                          size_table(dataset, rows)))


if __name__ == "__main__":
    main()
