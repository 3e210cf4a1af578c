"""verify-export's video comparison on small synthetic clips (no shared data, no FiftyOne): changes
inside the face masks pass, a change outside them is caught in lossless and in H.264 video (one
frame's change is judged by that frame, never averaged away over the clip), and so is lost sound."""

import numpy as np
import pytest

from ldfa.converters.verify import MAX_VIDEO_MEAN_DIFF, check_video
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.video import rewrite_video
from ldfa_testing.videos import remux, write_clip

MASK = {"grow": 1.0, "ellipse": False, "fade_px": 2}
BOXES = [[[0.25, 0.25, 0.25, 0.3]]] * 6 + [[]] * 6  # a face in the first 6 frames of 12


@pytest.fixture
def source(tmp_path):
    """12 frames of a moving gradient (H.264) with a tone, in Matroska."""
    yy, xx = np.mgrid[0:96, 0:128]
    frames = [np.stack([xx + i * 4, yy * 2, (xx + yy) // 2 + i * 8], -1).astype(np.uint8) for i in range(12)]
    return write_clip(tmp_path / "source.mkv", frames, rate=12, audio=True)


def rewritten(source, target, codec: str, outside_frame: int | None = None):
    """``source`` with its faces filled grey and, in frame ``outside_frame``, a block far from
    any face inverted."""
    def edit(start, frames):
        edited = []
        for i, frame in enumerate(frames, start):
            frame = frame.copy()
            frame[union_mask(128, 96, BOXES[i], **{k: MASK[k] for k in ("grow", "ellipse")},
                             fade_px=MASK["fade_px"])] = 128
            if i == outside_frame:
                frame[60:96, 80:128] = 255 - frame[60:96, 80:128]
            edited.append(frame)
        return edited

    rewrite_video(source, target, edit, codec=codec)
    return target


@pytest.mark.parametrize("codec, suffix", [("lossless", ".mkv"), ("h264", ".mkv")])
def test_changes_inside_the_masks_pass_and_one_frame_changed_outside_fails(source, tmp_path, codec, suffix):
    clean = check_video(source, rewritten(source, tmp_path / f"clean{suffix}", codec), BOXES, MASK)
    assert clean["problems"] == [] and clean["form"] and clean["streams"] and clean["pixels"]
    assert clean["share"] == 0.0 if codec == "lossless" else clean["worst"] <= MAX_VIDEO_MEAN_DIFF

    tampered = check_video(source, rewritten(source, tmp_path / f"bad{suffix}", codec, outside_frame=9),
                            BOXES, MASK)
    assert tampered["form"] and tampered["streams"] and not tampered["pixels"]
    assert tampered["worst"] > MAX_VIDEO_MEAN_DIFF  # judged in frame 10 itself
    assert any("outside the face masks" in p for p in tampered["problems"])


def test_lost_sound_and_missing_frames_are_problems(source, tmp_path):
    lossless = rewritten(source, tmp_path / "lossless.mkv", "lossless")  # intra frames only: any cut plays
    silent = check_video(source, remux(lossless, tmp_path / "silent.mkv", lambda kind, n: kind == "video"),
                         BOXES, MASK)
    assert not silent["streams"] and not silent["form"] and silent["pixels"]
    assert "audio/subtitle streams [] differ from the source's [audio] (packets compared byte for byte)" \
        in silent["problems"]
    short = check_video(source, remux(lossless, tmp_path / "short.mkv", lambda kind, n: kind != "video" or n <= 10),
                         BOXES, MASK)
    assert short["problems"][0] == "shortened video: 10 of 12 frames" and not short["form"]
