"""Short clips for the tests, cut from the shared clips or written from frames: a few frames keep a
test fast."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from itertools import chain, count
from pathlib import Path

import av
import numpy as np
import pytest

VIDEOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos"


def shared_clip(name: str) -> Path:
    """A clip of ``../shared/data/videos``, or a skip saying it is missing (a user's clone)."""
    path = VIDEOS / name
    if not path.exists():
        pytest.skip(f"{path} is missing: the shared clips sit beside the checkout in CI")
    return path


def write_clip(path: Path, frames: Iterable[np.ndarray], rate: int | Fraction = 25, codec: str = "libx264",
               crf: int | None = 18, pix_fmt: str | None = None, time_base: Fraction | None = None,
               pts: Sequence[int] | None = None, rotation: int = 0, audio: bool = False, faststart: bool = False,
               **options: str | int) -> Path:
    """``frames`` (RGB, as stored) encoded at ``rate`` frames/s; ``options`` go to the encoder (``bf=0``:
    no B-frames; ``crf=None`` for an encoder without one, such as lossless ``ffv1``).

    ``pix_fmt`` is yuv420p unless given, yuv444p where a side is odd (4:2:0 needs even sides); ``pts``
    are the frames' times in ``time_base`` (default: one every 1/``rate`` s), for variable-rate clips;
    ``rotation`` is the clockwise turn the display metadata asks for; ``audio`` adds a tone as long as
    the frames; ``faststart`` puts an MP4's index first (as phones and web downloads have it)."""
    frames = iter(frames)  # one frame at a time: a test may measure memory around a long clip
    first = next(frames)
    height, width = first.shape[:2]
    time_base = time_base or Fraction(1) / rate
    stamps = iter(pts) if pts is not None else (round(i / (rate * time_base)) for i in count())
    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as out:
        stream = _video_stream(out, codec, rate, width, height, rotation, {"crf": crf, **options},
                               pix_fmt or ("yuv420p" if width % 2 == height % 2 == 0 else "yuv444p"))
        stream.time_base = stream.codec_context.time_base = time_base
        sound = out.add_stream("aac", rate=44100, layout="mono") if audio else None  # before the first packet
        for written, (pixels, stamp) in enumerate(zip(chain([first], frames), stamps), 1):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound:
            _tone(out, sound, written / rate)
    return path


def write_audio(path: Path, seconds: float) -> Path:
    """A file of sound and no video: the tone ``write_clip`` adds, ``seconds`` long."""
    with av.open(str(path), "w") as out:
        _tone(out, out.add_stream("aac", rate=44100, layout="mono"), seconds)
    return path


def cut(source: Path, target: Path, frames: int, scale: float = 1.0, rotation: int = 0,
        crf: int | None = None) -> Path:
    """The first ``frames`` frames of ``source`` (H.264 at ``crf``, the encoder's default if None,
    optionally scaled, tagged to be turned ``rotation`` degrees clockwise for display) with its audio
    up to their end, copied packet for packet, at the source's frame rate."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = src.streams.video[0]
        audio = src.streams.audio[0] if src.streams.audio else None
        width, height = (int(side * scale) // 2 * 2 for side in (video.codec_context.width, video.codec_context.height))
        stream = _video_stream(out, "libx264", video.average_rate, width, height, rotation, {"crf": crf}, "yuv420p")
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


def remux(source: Path, target: Path, keep: Callable[[str, int], bool]) -> Path:
    """``source``'s packets that ``keep(stream kind, video packet number)`` keeps, copied as they are
    (a stream is kept where ``keep(kind, 0)``): a copy that lost a stream or frames."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if keep(s.type, 0)}
        n = 0
        for packet in src.demux():
            if not packet.size or packet.stream.index not in streams:
                continue
            n += packet.stream.type == "video"
            if keep(packet.stream.type, n):
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return target


def panned(photo: Path, target: Path, frames: int = 10, size: int = 320, rate: int = 10) -> Path:
    """A clip made from a packaged photo, for tests that must run without ``../shared``: a
    ``size`` px window sliding across ``photo`` (so the face moves), H.264 at ``rate`` frames/s,
    with a tone as its audio."""
    from PIL import Image

    pixels = np.asarray(Image.open(photo).convert("RGB"))
    step = (pixels.shape[1] - size) // max(frames - 1, 1)
    windows = (pixels[:size, n * step:n * step + size] for n in range(frames))
    return write_clip(target, windows, rate=rate, crf=None, audio=True)


def _video_stream(out: av.container.OutputContainer, codec: str, rate: int | Fraction, width: int, height: int,
                  rotation: int, options: dict, pix_fmt: str) -> av.VideoStream:
    stream = out.add_stream(codec, rate=rate, options={k: str(v) for k, v in options.items() if v is not None})
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if rotation:
        stream.set_display_rotation(-rotation)
    return stream


def _tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    """A 440 Hz tone, ``seconds`` long, into ``stream`` (AAC, mono, 44.1 kHz)."""
    samples = round(44100 * seconds)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 44100, start
        out.mux(stream.encode(chunk))
    out.mux(stream.encode(None))
