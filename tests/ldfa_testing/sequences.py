"""Frame-sequence trees for the tests, built from ``../shared/data/videos/mot17-mini``'s frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from ldfa_testing.videos import shared_clip


def mot_frames() -> Path:
    """MOT17-09's folder as MOTChallenge ships it (img1/, gt/gt.txt, seqinfo.ini), or a skip."""
    return shared_clip("mot17-mini") / "MOT17-09-FRCNN"


def cityscapes_sequences(root: Path) -> Path:
    """A Cityscapes root with one sequence of four real frames (MOT17-09's, renamed, 480x270),
    whose third is also the annotated frame in leftImg8bit/ with a gtFine person."""
    frames = sorted((mot_frames() / "img1").glob("*.jpg"))
    if len(frames) < 4:
        pytest.skip("needs 4 frames of mot17-mini/MOT17-09-FRCNN")
    for n, frame in zip(range(17, 21), frames):
        target = root / "leftImg8bit_sequence" / "val" / "frankfurt" / f"frankfurt_000000_{n:06d}_leftImg8bit.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(frame) as img:
            img.resize((480, 270)).save(target)
    annotated = root / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000019_leftImg8bit.png"
    annotated.parent.mkdir(parents=True)
    shutil.copy(target.with_name(annotated.name), annotated)
    gt = root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000019_gtFine_polygons.json"
    gt.parent.mkdir(parents=True)
    gt.write_text('{"imgHeight": 270, "imgWidth": 480, "objects": [{"label": "person", '
                  '"polygon": [[65, 112], [90, 112], [90, 178], [65, 178]]}]}')
    return root
