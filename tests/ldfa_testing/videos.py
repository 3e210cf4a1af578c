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


def panned(photo: Path, target: Path, frames: int = 10, size: int = 320, rate: int = 10) -> Path:
    """A clip made from a packaged photo, for tests that must run without ``../shared``: a
    ``size`` px window sliding across ``photo`` (so the face moves), H.264 at ``rate`` frames/s,
    with a 440 Hz AAC tone as its audio."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(photo).convert("RGB"))
    step = (pixels.shape[1] - size) // max(frames - 1, 1)
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[:size, n * step:n * step + size]),
                                               format="rgb24")
            frame.pts = n
            out.mux(video.encode(frame))
        out.mux(video.encode())
        samples = 44100 * frames // rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode())
    return target
