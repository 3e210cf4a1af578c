"""Reading and rewriting video files with PyAV alone (no ffmpeg program to install or to find).

Anonymizing a video must change the faces and nothing else a viewer or a tool relies on: the
frame count, each frame's timestamp (so any rate, variable ones included), the exact size, the
rotation a phone wrote, the sound and the subtitles. So ``rewrite_video`` decodes, hands the
frames to the caller in display orientation a batch at a time, encodes what comes back with the
source's timestamps, turned back to stored orientation under the same rotation, and copies every
audio and subtitle packet untouched, read by a second demuxer of the source as the video's
time reaches it: one batch of frames in memory whatever the clip's length. Cover art, other video
streams and data streams are dropped: they would carry the original. A file that cannot be read
whole is an ``ImageError``, never a shorter video, and the target appears whole or not at all.

A GIF written from a GIF keeps each frame's timing, the loop count and, where the edit left a
pixel alone, its exact colour (each frame is indexed in its source frame's colours). An animated
GIF is a video to ldfa through an MP4 made from it (``gif_proxy``), which FiftyOne and the App play.
"""

from __future__ import annotations

import collections
import contextlib
import math
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image

from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.io.atomic import umask

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".gif"})
CODECS = ("h264", "lossless")
_MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".gif": "gif"}  # the targets video_target names
_ATTACHED_PIC = av.stream.Disposition.attached_pic
# swscale's default YUV<->RGB rounding darkens a round trip by ~1.1 levels; these flags make it unbiased.
_SCALING = (Interpolation.BILINEAR | Interpolation.ACCURATE_RND
            | Interpolation.FULL_CHR_H_INT | Interpolation.FULL_CHR_H_INP)


def is_video_name(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """What ldfa needs to know of a video, read by PyAV (so no ffprobe); sizes as displayed."""

    path: str
    frames: int
    rate: Fraction
    width: int
    height: int
    rotation: int  # degrees the display turns the stored frames clockwise: 0, 90, 180 or 270
    codec: str
    duration: float
    size_bytes: int
    streams: tuple[str, ...]  # "video", "audio", "subtitle", "data", "attachment" or "attached_pic"

    def metadata(self) -> dict:
        """The keyword arguments of ``fo.VideoMetadata``, so FiftyOne never runs ffprobe itself."""
        return {"frame_rate": float(self.rate), "total_frame_count": self.frames, "frame_width": self.width,
                "frame_height": self.height, "duration": self.duration, "encoding_str": self.codec,
                "mime_type": mimetypes.guess_type(self.path)[0], "size_bytes": self.size_bytes}


@contextlib.contextmanager
def _opened(path) -> Iterator[av.container.InputContainer]:
    """``av.open`` whose refusals say why in one line."""
    try:
        container = av.open(str(path))
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found") from None
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise ImageError(f"{path}: not a video PyAV can read ({e})") from None
    with container:
        yield container


def _video_stream(container, path) -> av.VideoStream:
    """The first video stream that is a video (not cover art); threads on, as decoding dominates."""
    stream = next((s for s in container.streams.video if not s.disposition & _ATTACHED_PIC), None)
    if stream is None:
        raise ImageError(f"{path}: no video stream (audio only or pictures only)")
    stream.thread_type = "AUTO"
    return stream


def probe(path) -> VideoInfo:
    """Read the header and decode the first frame (for its rotation, and to know it decodes); count
    the packets where the container keeps no frame count (Matroska, WebM)."""
    with _opened(path) as container:
        stream = _video_stream(container, path)
        size, end = os.path.getsize(path), max((e.pos + e.size for e in stream.index_entries), default=0)
        if end > size:  # an index (MP4's moov) naming bytes past the end: a cut download or copy
            raise ImageError(f"{path}: truncated: the file ends at byte {size}, its index runs to byte {end}")
        first, packets = None, 0
        try:
            for packet in container.demux(stream):  # ends with an empty packet, which flushes the decoder
                packets += packet.size > 0
                if first is None:
                    first = next(iter(stream.decode(packet)), None)
                elif stream.frames:
                    break
        except av.FFmpegError as e:
            raise ImageError(f"{path}: unreadable or corrupt video ({e})") from None
        if first is None:
            raise ImageError(f"{path}: no frame decodes (zero frames or corrupt)")
        rotation = round(-first.rotation / 90) % 4 * 90
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation in (90, 270):
            width, height = height, width
        frames = stream.frames or packets
        duration = (float(stream.duration * stream.time_base) if stream.duration
                    else (container.duration or 0) / av.time_base)
        kinds = tuple("attached_pic" if s.disposition & _ATTACHED_PIC else s.type for s in container.streams)
        return VideoInfo(path=str(path), frames=frames, rate=stream.average_rate or stream.guessed_rate or Fraction(0),
                         width=width, height=height, rotation=rotation, codec=stream.codec_context.name,
                         duration=duration, size_bytes=size, streams=kinds)


def _decoded(container, stream, info: VideoInfo) -> Iterator[av.VideoFrame]:
    """The stored frames; a file that ends before its index does is an error after the last good one."""
    n = 0
    try:
        for frame in container.decode(stream):
            n += 1
            yield frame
    except av.FFmpegError as e:
        raise ImageError(f"{info.path}: corrupt: decoding stopped after {n} of {info.frames} frames ({e})") from None
    if n < info.frames:
        raise ImageError(f"{info.path}: truncated: decoded {n} of {info.frames} frames")


def _display(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """RGB as shown: the stored frame turned clockwise by ``rotation``, in the frame's own colour space."""
    rgb = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None, interpolation=_SCALING)
    return np.ascontiguousarray(np.rot90(rgb, k=-(rotation // 90)))


def read_frames(path, start: int = 0, stop: int | None = None, info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames in display orientation, one at a time (decoding from the start: exact frames);
    ``info``: the file's probe when the caller has it (probing reads the file once more)."""
    info = info or probe(path)
    with _opened(path) as container:
        stream = _video_stream(container, path)
        for frame in islice(_decoded(container, stream, info), start, stop):
            yield _display(frame, info.rotation)


def is_animated_gif(path) -> bool:
    """Whether ``path`` is a GIF of more than one frame: a video to ldfa (a one-frame GIF is a still
    image). Reads the file only as far as its second frame."""
    try:
        with Image.open(path) as image:
            return image.format == "GIF" and image.is_animated
    except (OSError, ValueError):  # missing, unreadable or no image: not a GIF ldfa can play
        return False


def gif_proxy(gif, target, quality: int = 18) -> VideoInfo:
    """An H.264 MP4 ``target`` holding the animated ``gif`` frame for frame, each with the GIF's own
    timing: what FiftyOne needs to hold a GIF as a video (a sample's media type follows its file's
    type) and what the App's player plays. Made once: a target carrying the GIF's modification time
    (set when it is written) is reused."""
    target = Path(target)
    made = os.stat(gif).st_mtime_ns if os.path.isfile(gif) else None  # (rewrite_video says what is missing)
    with contextlib.suppress(OSError, ImageError):
        if made is not None and target.stat().st_mtime_ns == made:
            return probe(target)
    info = rewrite_video(gif, target, lambda _, frames: frames, quality=quality)
    os.utime(target, ns=(made, made))
    return info


def video_target(path: Path, codec: str) -> Path:
    """The target's name: lossless FFV1 needs Matroska; H.264 keeps MP4, MOV and MKV (and GIF stays
    GIF), and AVI and WebM become MP4, which browsers play (WebM cannot hold H.264)."""
    if codec not in CODECS:
        raise ConfigError(f"video codec {codec!r} unknown: use one of {', '.join(CODECS)}")
    suffix = Path(path).suffix.lower()
    if codec == "lossless":
        return Path(path).with_suffix(".mkv")
    return Path(path) if suffix in (".mp4", ".mov", ".mkv", ".gif") else Path(path).with_suffix(".mp4")


def _video_out(out, source: av.VideoStream, info: VideoInfo, suffix: str, codec: str, quality: int):
    """The output video stream: GIF for a .gif target, else FFV1 RGB (lossless) or libx264 at crf
    ``quality``; yuv420p (what browsers play) needs even sizes, odd ones get yuv444p, never a crop."""
    width, height = source.codec_context.width, source.codec_context.height
    if suffix == ".gif":  # every frame whole: FFmpeg's frame-difference coding compares palette
        # indices across frames, and a frame whose palette is the first one's was shown in the last one's colours
        stream, pix_fmt = out.add_stream("gif", rate=info.rate or None, options={"gifflags": "0"}), "pal8"
    elif codec == "lossless":
        stream, pix_fmt = out.add_stream("ffv1", rate=info.rate or None), "bgr0"
    else:
        # no B-frames: packets in frame order keep every frame's time and duration as MP4 stores them
        stream = out.add_stream("libx264", rate=info.rate or None, options={"crf": str(quality), "bf": "0"})
        pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        for key in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(stream.codec_context, key, getattr(source.codec_context, key))
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    stream.time_base = stream.codec_context.time_base = source.time_base
    if info.rotation:
        stream.set_display_rotation(-info.rotation)
    return stream


def _encoded(array: np.ndarray, like: av.VideoFrame, info: VideoInfo, stream) -> av.VideoFrame:
    """``array`` (display orientation) as a frame for ``stream``: stored orientation, the source
    frame's timestamp, duration and colour space, so the encoder's conversion mirrors ``_display``."""
    shape, dtype = getattr(array, "shape", None), getattr(array, "dtype", type(array).__name__)
    if not isinstance(array, np.ndarray) or shape != (info.height, info.width, 3) or dtype != np.uint8:
        raise ImageError(f"{info.path}: edit returned a {dtype} frame of shape {shape}; "
                         f"expected uint8 {(info.height, info.width, 3)}")
    stored = np.ascontiguousarray(np.rot90(array, k=info.rotation // 90))
    if stream.pix_fmt == "pal8":
        frame = _indexed(stored, like)
    else:
        frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
        frame.colorspace, frame.color_range = like.colorspace, like.color_range
        frame = frame.reformat(format=stream.pix_fmt, dst_color_range=like.color_range or None, interpolation=_SCALING)
    frame.pts, frame.time_base, frame.duration = like.pts, like.time_base, like.duration
    return frame


def _indexed(stored: np.ndarray, like: av.VideoFrame) -> av.VideoFrame:
    """``stored`` as a GIF frame in the colours of the source frame ``like`` when it has at most 256
    (a GIF's frame mostly has): every pixel the edit left alone keeps its exact colour, an edited one
    takes the nearest (no dithering, which would spill into the pixels around). Else 256 colours
    chosen for this frame (a GIF frame composed over earlier frames' palettes, a video turned GIF)."""
    pixels = _packed(stored)
    colours = np.unique(_packed(like.to_ndarray(format="rgb24")))
    if len(colours) <= 256:
        at = np.minimum(np.searchsorted(colours, pixels), len(colours) - 1)
        others = colours[at] != pixels
        if others.any():
            wanted, back = np.unique(pixels[others], return_inverse=True)
            distance = ((_unpacked(wanted)[:, None] - _unpacked(colours)[None]) ** 2).sum(axis=-1)
            at[others] = distance.argmin(axis=1)[back.ravel()]
        indices, rgb = at.astype(np.uint8), _unpacked(colours).astype(np.uint8)
    else:
        image = Image.fromarray(stored).quantize(256)
        indices, rgb = np.asarray(image), np.asarray(image.getpalette()[:768], np.uint8).reshape(-1, 3)
    palette = np.zeros((256, 4), np.uint8)
    palette[:, 0], palette[:len(rgb), 1:] = 255, rgb
    return av.VideoFrame.from_ndarray((indices, palette), format="pal8")


def _packed(rgb: np.ndarray) -> np.ndarray:
    """Each RGB pixel as one integer 0xRRGGBB, so colours compare and sort as numbers."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def _unpacked(packed: np.ndarray) -> np.ndarray:
    return np.stack([packed >> 16, packed >> 8 & 255, packed & 255], axis=-1)


class _Muxer:
    """Muxes the encoded video and, from a second demuxer, the source's audio and subtitle packets
    as the video's time reaches theirs: the output stays interleaved and only the next packet of
    the source waits in memory. Encoders drop frame durations, so each packet gets its frame's back
    (in order: none of the encoders here reorders frames)."""

    def __init__(self, out, video, side=None):
        streams = [s for s in side.streams if s.type in ("audio", "subtitle")] if side else []
        self.targets = {s.index: out.add_stream_from_template(s) for s in streams}
        self.packets = (p for p in side.demux(*streams) if p.size) if streams else iter(())
        self.out, self.video, self.waiting, self.durations = out, video, None, collections.deque()

    def encode(self, frame: av.VideoFrame | None) -> None:
        """Encode ``frame`` (None: flush the encoder) and mux its packets after those they follow."""
        if frame is not None:
            self.durations.append(frame.duration)
        for packet in self.video.encode(frame):
            packet.duration = self.durations.popleft()
            if packet.dts is not None:
                self.copy(packet.dts * packet.time_base)
            self.out.mux(packet)

    def copy(self, until: Fraction | None = None) -> None:
        """Mux every copied packet timed at or before ``until`` seconds (all that are left for None)."""
        while (packet := self.waiting or next(self.packets, None)) is not None:
            stamp = packet.dts if packet.dts is not None else packet.pts
            if until is not None and stamp is not None and stamp * packet.time_base > until:
                self.waiting = packet
                return
            self.waiting, packet.stream = None, self.targets[packet.stream.index]
            self.out.mux(packet)


def rewrite_video(source, target, edit: Callable[[int, list[np.ndarray]], list[np.ndarray]],
                  batch: int = 8, codec: str = "h264", quality: int = 18) -> VideoInfo:
    """Stream ``source`` to ``target`` through ``edit(first_index, frames) -> frames`` (see the module
    docstring for what is kept); a .gif target is GIF whatever ``codec`` says. Returns its probe."""
    target, suffix = Path(target), Path(target).suffix.lower()
    if video_target(target, codec) != target:  # (which also refuses an unknown codec)
        raise ConfigError(f"{target}: no {codec} video goes in a {suffix or 'suffix-less'} file; "
                          "name the target with video_target(path, codec)")
    info = probe(source)
    options = {"avoid_negative_ts": "disabled"}  # shifting the streams would move every frame's time
    with _opened(source) as src, _opened(source) as side, _temporary(target) as tmp:
        vin = _video_stream(src, source)
        if suffix in (".mp4", ".mov"):  # browsers start before the download ends; the movie's clock
            # ticks on every stream's ticks, so its edit lists keep each stream's start exactly
            clock = math.lcm(*(s.time_base.denominator for s in src.streams if s.time_base))
            clock = clock if clock < 2**31 else vin.time_base.denominator
            options |= {"movflags": "+faststart", "movie_timescale": str(clock)}
        if suffix == ".gif":
            options["loop"] = str(_gif_loop(source))
        try:
            with av.open(tmp, "w", format=_MUXERS[suffix], options=options) as out:
                vout = _video_out(out, vin, info, suffix, codec, quality)
                muxer = _Muxer(out, vout, side if suffix != ".gif" else None)  # GIF holds no sound
                frames, first = _decoded(src, vin, info), 0
                while chunk := list(islice(frames, batch)):
                    edited = edit(first, [_display(f, info.rotation) for f in chunk])
                    if len(edited) != len(chunk):
                        raise ImageError(f"{source}: edit returned {len(edited)} frames for {len(chunk)}")
                    for array, like in zip(edited, chunk):
                        muxer.encode(_encoded(array, like, info, vout))
                    first += len(chunk)
                muxer.encode(None)
                muxer.copy()
        except av.FFmpegError as e:
            raise ImageError(f"{target}: could not write the video ({e})") from None
    return probe(target)


def _gif_loop(source) -> int:
    """How often a GIF written from ``source`` plays again, as FFmpeg's GIF muxer counts: the
    source GIF's own count (0: forever), -1 for a GIF that plays once; a video loops forever."""
    with contextlib.suppress(OSError), Image.open(source) as image:
        if image.format == "GIF":
            return image.info.get("loop", -1)
    return 0


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[str]:
    """A hidden path beside ``target`` (named as ``atomic_write`` names its own) that replaces it on a
    clean exit and is removed on any failure. A path, not a file: MP4's faststart reopens it by name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
