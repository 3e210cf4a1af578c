"""How much of each labelled plate an export replaced, and what OCR still reads there.

    ldfa run ../shared/data/plates --output /tmp/plates-solid --plates --method solid
    .venv/bin/python bench/plates_cover.py /tmp/plates-solid

For every labelled plate of ../shared/data/plates (115 on 114 photos) it compares the original
photo with the export's: the share of the plate's pixels replaced (``metrics.plates``: changed by
more than its tolerance, or enclosed by such pixels), and the characters of the original's text
OCR recovers on the export. Prints the plates covered whole (0.9 or more) by plate width, and
the leaks (3 characters in a row recovered); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "plates"
WIDTHS = {"<64": (0, 64), "64-128": (64, 128), "128-256": (128, 256), ">=256": (256, np.inf)}  # plate width, px


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="the --output of `ldfa run` on the plates folder")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    from ldfa.plugin.metrics.plates import COVER_WHOLE, LEAK_CHARS, cover, recovered, replaced_pixels
    from ldfa.plugin.models.ocr import normalize, ocr_available, read_text

    ocr = ocr_available()[0]
    coco = json.loads((args.data / "plates_coco.json").read_text())
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    rows = []
    for image_id, name in names.items():
        before = np.asarray(Image.open(args.data / "images" / name).convert("RGB"))
        after = np.asarray(Image.open(args.export / "images" / name).convert("RGB"))
        replaced = replaced_pixels(before, after)
        for a in (a for a in coco["annotations"] if a["image_id"] == image_id):
            x, y, w, h = a["bbox"]
            region = (int(x), int(y), int(np.ceil(x + w)), int(np.ceil(y + h)))
            text = normalize(a.get("text") or "") or (read_text(before[region[1]:region[3], region[0]:region[2]])
                                                      if ocr else "")
            read = read_text(after[region[1]:region[3], region[0]:region[2]]) if ocr else ""
            rows.append((w, cover(replaced, region), recovered(text, read) if text else 0))
    print(f"{len(rows)} labelled plates in {args.export}")
    for bucket, (low, high) in WIDTHS.items():
        picked = [r for r in rows if low <= r[0] < high]
        if not picked:
            continue
        whole = sum(c >= COVER_WHOLE for _, c, _ in picked)
        print(f"  {bucket:>8} px: {whole}/{len(picked)} covered whole")
    whole = sum(c >= COVER_WHOLE for _, c, _ in rows)
    leaks = sum(n >= LEAK_CHARS for _, _, n in rows)
    print(f"covered whole: {whole}/{len(rows)} ({whole / len(rows):.3f}); least covered "
          f"{min(c for _, c, _ in rows):.3f}; OCR leaks: " + (f"{leaks}" if ocr else "OCR unavailable"))


if __name__ == "__main__":
    main()
