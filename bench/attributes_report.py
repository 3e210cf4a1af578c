"""What each anonymization keeps of what the faces do: attribute differences on real photos.

    .venv/bin/python bench/attributes_report.py [--methods gauss pixelate solid] [--model DIR]

Photos: every image of ../shared/data/identities (identities.csv: 77 single-face and 3
two-person photos, faces from 100 to 500 px, large enough for the face mesh). Faces are
detected with ldfa's defaults, anonymized with each method (default strengths), and
``compute_attribute_differences`` compares every face with its original. Prints one Markdown
row per version: faces, faces the mesh reads on the original, the share it still finds after
anonymization, and the mean differences over the faces it reads in both. ``--model`` adds LDFA
with that diffusion model (only real weights say anything about LDFA's faces).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "identities"
COLUMNS = ("pose_diff_deg", "eye_diff", "mouth_diff", "landmark_nme")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["gauss", "pixelate", "solid"])
    parser.add_argument("--model", help="a diffusers inpainting model folder: adds the ldfa method")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"needs the shared test photos at {SHARED}")
    from ldfa_testing.private_db import use_private_database

    use_private_database("ldfa-bench-attributes")
    import fiftyone as fo

    from ldfa.plugin.anonymization.anonymize import anonymize_faces
    from ldfa.plugin.detection.detect import detect_faces
    from ldfa.plugin.metrics.attributes import compute_attribute_differences

    with open(SHARED / "identities.csv", newline="") as f:
        paths = [str(SHARED / row["path"]) for row in csv.DictReader(f)]
    dataset = fo.Dataset(f"attributes-{uuid.uuid4().hex[:6]}")
    dataset.add_samples([fo.Sample(filepath=p) for p in paths])
    print(detect_faces(dataset, progress=False), file=sys.stderr)
    methods = [*args.methods, *(["ldfa"] if args.model else [])]
    print("| version | faces | read on the original | mesh still finds | pose diff (deg) | eye diff | "
          "mouth diff | landmark NME |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ldfa-attributes-") as out:
        for method in methods:
            params = {"model": args.model} if method == "ldfa" else {}
            print(anonymize_faces(dataset, method=method, output_dir=Path(out) / method,
                                  progress=False, **params), file=sys.stderr)
        for field in ["original", *(f"anon_{m}" for m in methods)]:
            r = compute_attribute_differences(dataset, field, progress=False)
            read = r["measured"] + r["no_face_left"]
            cells = " | ".join("n/a" if r[c] is None else f"{r[c]:.3f}" for c in COLUMNS)
            kept = "n/a" if r["mesh_kept"] is None else f"{r['mesh_kept']:.3f} ({r['measured']})"
            print(f"| {field} | {r['faces']} | {read} | {kept} | {cells} |")


if __name__ == "__main__":
    main()
