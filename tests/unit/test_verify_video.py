"""verify-export's video comparison on small synthetic clips (no shared data, no FiftyOne): changes
inside the face masks pass, a change outside them is caught in lossless and in H.264 video (one
frame's change is judged by that frame, never averaged away over the clip), and so is lost sound."""

import av
import numpy as np
import pytest

from ldfa.converters.verify import MAX_VIDEO_MEAN_DIFF, check_video
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.video import rewrite_video

MASK = {"grow": 1.0, "ellipse": False, "fade_px": 2}
BOXES = [[[0.25, 0.25, 0.25, 0.3]]] * 6 + [[]] * 6  # a face in the first 6 frames of 12


@pytest.fixture
def source(tmp_path):
    """12 frames of a moving gradient (H.264) with a sine tone (16-bit PCM), in Matroska."""
    path = tmp_path / "source.mkv"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=12, options={"crf": "18"})
        video.width, video.height, video.pix_fmt = 128, 96, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        yy, xx = np.mgrid[0:96, 0:128]
        for i in range(12):
            rgb = np.stack([xx + i * 4, yy * 2, (xx + yy) // 2 + i * 8], -1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            tone = (np.sin(np.arange(i * 666, (i + 1) * 666) * 0.2) * 8000).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(tone[None], format="s16", layout="mono")
            sound.sample_rate, sound.pts = 8000, i * 666
            out.mux(audio.encode(sound))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


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

    def remux(target, keep):
        """``lossless``'s packets that ``keep(kind, video packet number)`` keeps, as they are."""
        with av.open(str(lossless)) as src, av.open(str(target), "w") as out:
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams if keep(s.type, 0)}
            n = 0
            for packet in src.demux():
                n += packet.size > 0 and packet.stream.type == "video"
                if packet.size and packet.stream.index in streams and keep(packet.stream.type, n):
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        return target

    silent = check_video(source, remux(tmp_path / "silent.mkv", lambda kind, n: kind == "video"), BOXES, MASK)
    assert not silent["streams"] and not silent["form"] and silent["pixels"]
    assert "audio/subtitle streams [] differ from the source's [audio] (packets compared byte for byte)" \
        in silent["problems"]
    short = check_video(source, remux(tmp_path / "short.mkv", lambda kind, n: kind != "video" or n <= 10),
                         BOXES, MASK)
    assert short["problems"][0] == "shortened video: 10 of 12 frames" and not short["form"]
