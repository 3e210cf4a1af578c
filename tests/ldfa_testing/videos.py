"""Short clips for the tests, cut from the shared clips: a few frames keep a test fast."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

VIDEOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos"


def shared_clip(name: str) -> Path:
    """A clip of ``../shared/data/videos``, or a skip saying it is missing (a user's clone)."""
    path = VIDEOS / name
    if not path.exists():
        pytest.skip(f"{path} is missing: the shared clips sit beside the checkout in CI")
    return path


def cut(source: Path, target: Path, frames: int, scale: float = 1.0) -> Path:
    """The first ``frames`` frames of ``source`` (H.264, optionally scaled) with its audio up to
    their end, copied packet for packet, at the source's frame rate."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = src.streams.video[0]
        audio = src.streams.audio[0] if src.streams.audio else None
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width = int(video.codec_context.width * scale) // 2 * 2
        stream.height = int(video.codec_context.height * scale) // 2 * 2
        stream.pix_fmt = "yuv420p"
        copied = out.add_stream_from_template(audio) if audio else None
        end = None
        for n, frame in enumerate(src.decode(video=0)):
            if n == frames:
                end = frame.time
                break
            shown = frame.reformat(stream.width, stream.height, "yuv420p")
            shown.pts, shown.time_base = n, Fraction(1) / video.average_rate
            out.mux(stream.encode(shown))
        out.mux(stream.encode())
        if audio:
            src.seek(0)
            for packet in src.demux(audio):
                if packet.dts is None or (end is not None and packet.pts * packet.time_base >= end):
                    continue
                packet.stream = copied
                out.mux(packet)
    return target
