"""ldfa.plugin.io.video on real PyAV: clips written here (small, a few frames) and the first frames of
the shared walkway clip where present. What a rewrite must keep is checked against the source."""

import contextlib
import io
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.io.video import (
    VIDEO_SUFFIXES,
    gif_proxy,
    is_animated_gif,
    is_video_name,
    probe,
    read_frames,
    rewrite_video,
    video_target,
)
from ldfa_testing import videos


def pattern(i: int, height: int, width: int) -> np.ndarray:
    """Frame ``i``: 8x8 blocks of seeded colours, so every region and orientation is told apart."""
    blocks = np.random.default_rng(i).integers(0, 256, (-(-height // 8), -(-width // 8), 3), dtype=np.uint8)
    return np.ascontiguousarray(blocks.repeat(8, 0).repeat(8, 1)[:height, :width])


def write_clip(path: Path, frames: int = 6, size=(48, 32), time_base=Fraction(1, 12800), pts=None,
               **options) -> Path:
    """An H.264 clip of ``pattern`` frames, near lossless (crf 8); ``size`` is (width, height) as stored;
    ``pts`` the frames' timestamps in ``time_base`` (default: 25 frames a second); ``options`` as
    ``videos.write_clip`` takes them (``rotation``, ``audio``, ``faststart``)."""
    width, height = size
    shown = (pattern(i, height, width) for i in range(frames if pts is None else len(pts)))
    return videos.write_clip(path, shown, crf=8, time_base=time_base, pts=pts, preset="ultrafast", **options)


def with_extras(clip: Path, target: Path, srt: Path | None = None, cover: bool = False) -> Path:
    """``clip``'s packets copied beside the subtitles of ``srt`` and a cover picture (streams only
    the stream-copy test needs)."""
    with av.open(str(clip)) as src, av.open(str(target), "w") as out, contextlib.ExitStack() as stack:
        subtitles = stack.enter_context(av.open(str(srt))) if srt else None
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        art = out.add_stream("mjpeg") if cover else None  # every stream exists before the first packet
        text = out.add_stream_from_template(subtitles.streams[0]) if srt else None
        if art:
            art.width, art.height, art.pix_fmt = 16, 16, "yuvj420p"
            art.disposition = av.stream.Disposition.attached_pic
            jpeg = io.BytesIO()
            Image.new("RGB", (16, 16), "red").save(jpeg, "JPEG")
            packet = av.Packet(jpeg.getvalue())
            packet.stream, packet.pts, packet.dts = art, 0, 0
            out.mux(packet)
        for packet in src.demux():
            if packet.size:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
        for packet in subtitles.demux() if subtitles else ():
            if packet.size:
                packet.stream = text
                out.mux(packet)
    return target


def packets(path, kind: str) -> list[tuple[bytes, Fraction]]:
    """Every packet of the first stream of ``kind``: its bytes and its time in seconds."""
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        return [(bytes(p), p.pts * p.time_base) for p in container.demux(stream) if p.size]


def frame_times(path) -> list[Fraction]:
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0)]


def same(first, frames):
    return frames


def test_names_and_targets():
    assert VIDEO_SUFFIXES == {".mp4", ".mov", ".mkv", ".avi", ".webm", ".gif"}
    assert is_video_name("a/B.MP4") and is_video_name("x.gif") and not is_video_name("x.png")
    assert video_target(Path("a/b.mp4"), "h264") == Path("a/b.mp4")
    assert video_target(Path("a/b.webm"), "h264") == Path("a/b.mp4")
    assert video_target(Path("a/b.gif"), "h264") == Path("a/b.gif")
    assert video_target(Path("a/b.mp4"), "lossless") == Path("a/b.mkv")
    with pytest.raises(ConfigError):
        video_target(Path("a/b.mp4"), "vp9")


def test_probe_reads_what_fiftyone_needs(tmp_path):
    info = probe(write_clip(tmp_path / "c.mp4", frames=10, audio=True))
    assert (info.frames, info.rate, info.width, info.height, info.rotation) == (10, 25, 48, 32, 0)
    assert info.codec == "h264" and info.streams == ("video", "audio") and info.duration == pytest.approx(0.4)
    assert info.metadata() == {"frame_rate": 25.0, "total_frame_count": 10, "frame_width": 48, "frame_height": 32,
                               "duration": info.duration, "encoding_str": "h264", "mime_type": "video/mp4",
                               "size_bytes": os.path.getsize(tmp_path / "c.mp4")}


def test_read_frames_slices_exact_frames(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=8)
    every = list(read_frames(clip))
    assert len(every) == 8 and every[0].shape == (32, 48, 3) and every[0].dtype == np.uint8
    assert all(np.array_equal(a, b) for a, b in zip(read_frames(clip, 3, 6), every[3:6], strict=True))


@pytest.mark.parametrize("time_base, pts", [
    (Fraction(1, 12800), [512 * i for i in range(8)]),  # 25
    (Fraction(1, 11988), [10214 + 400 * i for i in range(8)]),  # 2997/100, starting late, as hamilton.mp4
    (Fraction(1001, 30000), list(range(8))),  # 30000/1001
    (Fraction(1, 90000), [0, 3000, 9000, 10000, 30000, 33003, 60000, 61000]),  # variable
], ids=["25", "29.97", "30000/1001", "vfr"])
def test_each_frame_keeps_its_time(tmp_path, time_base, pts):
    clip = write_clip(tmp_path / "c.mp4", time_base=time_base, pts=pts)
    source, written = probe(clip), rewrite_video(clip, tmp_path / "out" / "c.mp4", same)
    assert frame_times(tmp_path / "out" / "c.mp4") == frame_times(clip) == [p * time_base for p in pts]
    assert (written.frames, written.rate, written.duration) == (source.frames, source.rate, source.duration)


@pytest.mark.parametrize("codec", ["h264", "lossless"])
def test_odd_sizes_are_kept_exactly(tmp_path, codec):
    clip = write_clip(tmp_path / "c.mp4", size=(33, 17))
    written = rewrite_video(clip, video_target(tmp_path / "out" / "c.mp4", codec), same, codec=codec)
    assert (written.width, written.height, written.frames) == (33, 17, 6)


@pytest.mark.parametrize("codec", ["h264", "lossless"])
def test_rotation_frames_in_display_orientation_and_tag_kept(tmp_path, codec):
    clip = write_clip(tmp_path / "c.mp4", size=(48, 32), rotation=90)
    info = probe(clip)
    assert (info.rotation, info.width, info.height) == (90, 32, 48)
    shown = next(read_frames(clip))
    stored = pattern(0, 32, 48)
    assert shown.shape == (48, 32, 3)  # the stored frame turned a quarter clockwise (not anticlockwise)
    clockwise, anticlockwise = np.rot90(stored, k=-1), np.rot90(stored)
    assert np.abs(shown.astype(int) - clockwise).mean() < 12 < 40 < np.abs(shown.astype(int) - anticlockwise).mean()

    def mark(first, frames):
        for frame in frames:
            frame[:8, :8] = 0  # top left as displayed
        return frames

    target = video_target(tmp_path / "out" / "c.mp4", codec)
    written = rewrite_video(clip, target, mark, codec=codec)
    assert (written.rotation, written.width, written.height) == (90, 32, 48)
    with av.open(str(target)) as container:  # stored as the source was, not turned
        assert (container.streams.video[0].width, container.streams.video[0].height) == (48, 32)
    out = next(read_frames(target))
    assert out[:8, :8].mean() < 4 and np.abs(out[8:].astype(int) - shown[8:]).mean() < 10


def test_lossless_keeps_every_pixel_edit_did_not_change(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=5, audio=True)

    def paint(first, frames):
        for offset, frame in enumerate(frames):
            frame[4:12, 8:20] = (first + offset) * 40
        return frames

    written = rewrite_video(clip, tmp_path / "c.mkv", paint, batch=2, codec="lossless")
    assert written.codec == "ffv1" and written.streams == ("video", "audio")
    source = list(read_frames(clip))
    for i, (before, after) in enumerate(zip(source, read_frames(tmp_path / "c.mkv"), strict=True)):
        assert (after[4:12, 8:20] == i * 40).all()
        after[4:12, 8:20] = before[4:12, 8:20]
        assert np.array_equal(after, before)
    # Matroska counts in milliseconds: a frame's time is kept to the millisecond
    assert all(abs(a - b) <= Fraction(1, 1000) for a, b in zip(frame_times(tmp_path / "c.mkv"), frame_times(clip)))


def test_audio_and_subtitles_copied_packet_for_packet_cover_art_dropped(tmp_path):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,200\nhello\n\n2\n00:00:00,200 --> 00:00:00,380\nworld\n")
    clip = with_extras(write_clip(tmp_path / "plain.mkv", frames=12, audio=True), tmp_path / "c.mkv", srt=srt)
    written = rewrite_video(clip, tmp_path / "out.mkv", same)
    assert written.streams == ("video", "audio", "subtitle")
    for kind in ("audio", "subtitle"):
        assert packets(tmp_path / "out.mkv", kind) == packets(clip, kind) != []
    covered = with_extras(write_clip(tmp_path / "plain.mp4", audio=True), tmp_path / "covered.mp4", cover=True)
    assert sorted(probe(covered).streams) == ["attached_pic", "audio", "video"]
    assert rewrite_video(covered, tmp_path / "out.mp4", same).streams == ("video", "audio")
    assert packets(tmp_path / "out.mp4", "audio") == packets(covered, "audio")


def test_gif_stays_gif_with_its_frame_durations(tmp_path):
    durations = [80, 120, 40, 200, 90]
    frames = [Image.fromarray(pattern(i, 24, 40)).quantize(64) for i in range(5)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    written = rewrite_video(tmp_path / "a.gif", tmp_path / "out" / "a.gif", same)
    assert (written.codec, written.frames, written.width, written.height) == ("gif", 5, 40, 24)
    with av.open(str(tmp_path / "out" / "a.gif")) as container:
        assert [f.duration * f.time_base * 1000 for f in container.decode(video=0)] == durations


def write_gif(path: Path, frames: list[np.ndarray], durations: list[int], **options) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, **options)
    return path


def gif_durations(path: Path) -> list[int]:
    with Image.open(path) as image:
        return [image.seek(n) or image.info["duration"] for n in range(image.n_frames)]


def test_an_animated_gif_is_told_from_a_still_one(tmp_path):
    frames = [pattern(i, 24, 40) for i in range(3)]
    assert is_animated_gif(write_gif(tmp_path / "a.gif", frames, [50, 60, 70]))
    assert not is_animated_gif(write_gif(tmp_path / "still.gif", frames[:1], [50]))
    Image.fromarray(frames[0]).save(tmp_path / "b.png")
    (tmp_path / "broken.gif").write_bytes(b"GIF89a, then nothing")
    assert not any(is_animated_gif(tmp_path / name) for name in ("b.png", "broken.gif", "missing.gif"))


def test_a_gifs_mp4_shows_every_frame_with_its_timing_and_is_made_once(tmp_path):
    durations = [80, 120, 40, 200]
    gif = write_gif(tmp_path / "a.gif", [pattern(i, 24, 40) for i in range(4)], durations, loop=0)
    made = gif_proxy(gif, tmp_path / "proxy" / "a.mp4")
    assert (made.codec, made.frames, made.width, made.height) == ("h264", 4, 40, 24)
    ends = frame_times(made.path) + [Fraction(made.duration).limit_denominator(1000)]
    assert np.diff(ends).tolist() == [Fraction(d, 1000) for d in durations]
    shown, played = list(read_frames(gif)), list(read_frames(made.path))
    nearest = [int(np.argmin([np.abs(f.astype(int) - p.astype(int)).mean() for f in shown])) for p in played]
    assert nearest == [0, 1, 2, 3]  # frame for frame, in order
    written = os.stat(made.path)
    assert gif_proxy(gif, made.path) == made and os.stat(made.path).st_ino == written.st_ino  # reused
    os.utime(gif, ns=(written.st_mtime_ns + 10**9,) * 2)  # the GIF changed since: made again
    gif_proxy(gif, made.path)
    assert os.stat(made.path).st_ino != written.st_ino
    with pytest.raises(ImageError, match="not found"):
        gif_proxy(tmp_path / "missing.gif", tmp_path / "proxy" / "missing.mp4")


@pytest.mark.parametrize("loop", [None, 0, 2])
def test_a_gif_keeps_its_loop_count(tmp_path, loop):
    options = {} if loop is None else {"loop": loop}
    gif = write_gif(tmp_path / "a.gif", [pattern(i, 24, 40) for i in range(3)], [50, 60, 70], **options)
    rewrite_video(gif, tmp_path / "out.gif", same)
    with Image.open(tmp_path / "out.gif") as image:
        assert image.info.get("loop") == loop  # None: played once


def test_an_edited_gif_keeps_every_other_pixel_exactly(tmp_path):
    """Each frame is written in its source frame's colours, so the pixels an edit leaves alone keep
    their exact colour; FFmpeg's frame-difference GIF coding is off, as it compares palette
    indices across frames whose palettes differ (frame 3 here came out as frame 2's colours)."""
    layout = np.random.default_rng(0).integers(0, 4, (24, 40))
    warm = np.array([[200, 40, 40], [220, 120, 40], [240, 200, 60], [120, 20, 20]], np.uint8)
    frames = [warm[layout], warm[:, ::-1][layout], warm[layout]]  # same indices, other colours in frame 2
    gif = write_gif(tmp_path / "a.gif", frames, [50, 60, 70], loop=0)

    def blur_corner(first, batch):
        for pixels in batch:
            pixels[:8, :8] = pixels[:8, :8].mean(axis=(0, 1)).astype(np.uint8)
        return batch

    rewrite_video(gif, tmp_path / "out.gif", blur_corner)
    assert gif_durations(tmp_path / "out.gif") == [50, 60, 70]
    for before, after in zip(read_frames(gif), read_frames(tmp_path / "out.gif"), strict=True):
        changed = np.abs(before.astype(int) - after.astype(int)).max(axis=-1) > 0
        assert not changed[8:].any() and not changed[:, 8:].any()
        assert changed[:8, :8].any()


def test_walkway_keeps_audio_bytes_and_pixels_outside_the_edit(shared_data, tmp_path):
    walkway = shared_data / "videos" / "walkway.mp4"
    if not walkway.exists():
        pytest.skip(f"{walkway} absent: the shared clips are not on this machine")
    clip = tmp_path / "walkway.mp4"  # its first 6 frames (in decode order: all decodable) and 0.24 s of sound
    with av.open(str(walkway)) as source, av.open(str(clip), "w") as out:
        video, sound = source.streams.video[0], source.streams.audio[0]
        copies = {video.index: out.add_stream_from_template(video), sound.index: out.add_stream_from_template(sound)}
        kept = {video.index: 0}
        for packet in source.demux(video, sound):
            if packet.size and (kept[video.index] < 6 if packet.stream is video
                                else packet.pts * packet.time_base < Fraction(6, 25)):
                kept[video.index] += packet.stream is video
                packet.stream = copies[packet.stream.index]
                out.mux(packet)

    def black_box(first, frames):
        for frame in frames:
            frame[300:600, 800:1200] = 0
        return frames

    written = rewrite_video(clip, tmp_path / "out.mp4", black_box)
    assert (written.frames, written.width, written.height) == (6, 1920, 1080)
    assert packets(tmp_path / "out.mp4", "audio") == packets(clip, "audio") != []
    assert frame_times(tmp_path / "out.mp4") == frame_times(clip)
    outside = np.ones((1080, 1920), bool)
    outside[300:600, 800:1200] = False
    for before, after in zip(read_frames(clip), read_frames(tmp_path / "out.mp4"), strict=True):
        assert after[300:600, 800:1200].mean() < 3
        assert np.abs(after.astype(int) - before)[outside].mean() < 2  # measured 1.06 at crf 18 on 20 frames


def test_memory_does_not_grow_with_the_clip(tmp_path):
    """Peak resident memory while rewriting 80 frames of 480x360 (0.5 MB each) stays within that of
    16 frames: buffering the clip, its decoded or its edited frames, would add over 30 MB."""
    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    if not os.path.exists("/proc/self/statm"):
        pytest.skip("no /proc to read the resident memory from")
    peaks, batches = [], []
    for frames in (16, 80):
        clip = write_clip(tmp_path / f"{frames}.mp4", frames=frames, size=(480, 360))
        peak = [resident()]

        def edit(first, batch):
            batches.append((first, len(batch)))
            peak.append(resident())
            return [frame.copy() for frame in batch]

        rewrite_video(clip, tmp_path / f"{frames}.mkv", edit, batch=4, codec="lossless")
        peaks.append(max(peak))
    assert batches[-20:] == [(i, 4) for i in range(0, 80, 4)]
    assert peaks[1] - peaks[0] < 12 * 2**20


def cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


def zero_frames(path: Path) -> Path:
    """A video track and no frame (AVI: MP4's demuxer hides an empty track, Matroska's fails)."""
    with av.open(str(path), "w", format="avi") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()  # the header, and no frame
    return path


def garbage_head(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[:256] = np.random.default_rng(0).integers(0, 256, 256, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def blank_frames(path: Path, count: int) -> Path:
    """A clip whose last ``count`` frames' bytes are zeros (its index intact): a damaged copy."""
    clip = write_clip(path, frames=20, faststart=True)
    with av.open(str(clip)) as container:
        entries = [(e.pos, e.size) for e in container.streams.video[0].index_entries][-count:]
    data = bytearray(clip.read_bytes())
    for pos, size in entries:
        data[pos:pos + size] = bytes(size)
    clip.write_bytes(bytes(data))
    return clip


BAD = {  # how to make it, what the error says, whether probe (header and first frame) sees it
    "not a video": (lambda p: (p.write_text("just notes\n"), p)[1], "not a video", True),
    "corrupt head": (lambda p: garbage_head(write_clip(p)), "not a video", True),
    "truncated, index last": (lambda p: cut(write_clip(p, frames=20), 0.7), "not a video", True),
    "truncated, index first": (lambda p: cut(write_clip(p, frames=20, faststart=True), 0.7), "truncated", True),
    "zero frames": (zero_frames, "no frame", True),
    "audio only": (lambda p: videos.write_audio(p, 0.1), "no video stream", True),
    "last frame blank": (lambda p: blank_frames(p, 1), "truncated: decoded 19 of 20 frames", False),
    "last frames damaged": (lambda p: blank_frames(p, 3), "corrupt: decoding stopped after 17 of 20", False),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_files_are_one_line_image_errors_and_leave_no_file(tmp_path, name):
    make, reason, probe_sees = BAD[name]
    (tmp_path / "in").mkdir()
    source = make(tmp_path / "in" / "bad.mp4")
    calls = [lambda: list(read_frames(source)), lambda: rewrite_video(source, tmp_path / "out" / "bad.mp4", same)]
    for call in calls + [lambda: probe(source)] * probe_sees:
        with pytest.raises(ImageError, match=reason) as error:
            call()
        assert "\n" not in str(error.value) and str(source) in str(error.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("edit, reason", [
    (lambda first, frames: [f[:-1] for f in frames], "shape"),
    (lambda first, frames: [f.astype(np.float32) for f in frames], "float32"),
    (lambda first, frames: frames[:-1], "frames for"),
], ids=["shape", "dtype", "count"])
def test_edit_returning_wrong_frames_is_an_image_error(tmp_path, edit, reason):
    clip = write_clip(tmp_path / "c.mp4")
    (tmp_path / "out").mkdir()
    with pytest.raises(ImageError, match=reason):
        rewrite_video(clip, tmp_path / "out" / "c.mp4", edit)
    assert list((tmp_path / "out").iterdir()) == []


def test_targets_video_target_would_not_name_are_refused_and_a_failure_keeps_the_old_file(tmp_path):
    clip = write_clip(tmp_path / "c.mp4")
    for target, codec in (("c-anon.mp4", "lossless"), ("c-anon.webm", "h264"), ("c-anon.mkv", "vp9")):
        with pytest.raises(ConfigError):
            rewrite_video(clip, tmp_path / target, same, codec=codec)
    (tmp_path / "out.mp4").write_bytes(b"earlier result")
    with pytest.raises(ImageError):
        rewrite_video(cut(clip, 0.5), tmp_path / "out.mp4", same)
    assert (tmp_path / "out.mp4").read_bytes() == b"earlier result"
