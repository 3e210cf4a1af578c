"""``verify_export``: prove that an export is the source dataset with only face pixels changed.

Each check reports its figure beside the rule it must meet, so a reader sees what "ok" means:
every source file is in the export or listed as left out (with why); nothing else is there;
every copy is byte for byte the source's; every anonymized image keeps name, size, mode and
format, and no pixel outside the face masks (face boxes and their blend rings) changed: none
at all in a lossless format, at most ``MAX_LOSSY_MEAN_DIFF`` grey levels on average in a JPEG
re-encoded at quality 95; and no anonymized image carries an image of its original in its
metadata (an EXIF thumbnail, a preview, MPF images) or the XMP face regions that locate people.
Every anonymized video keeps its source's frame count, frame rate, size, rotation and kinds of
streams, its audio and subtitle streams packet for packet, and changes no pixel outside the face
masks of each frame: none in lossless FFV1, at most ``max_video_mean_diff`` grey levels on
average in any frame re-encoded with H.264 or GIF (an animated GIF's export keeps its pixels
outside the masks exactly, in its own palette: measured 0). An anonymized video may carry another
suffix than its source (lossless FFV1 is ``.mkv``): the manifest names its source file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
from PIL import Image

from ldfa.converters import manifest, tree
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.geometry.masks import regions_mask
from ldfa.plugin.io.atomic import sha256_of
from ldfa.plugin.io.images import orientation_of, shown_size
from ldfa.plugin.io.metadata import embedded_images
from ldfa.plugin.io.output import to_stored_orientation
from ldfa.plugin.io.video import probe, read_frames
from ldfa.plugin.progress import Progress, ProgressArg

LOSSLESS = {"PNG", "BMP", "TIFF", "PPM"}
# Re-encoding a JPEG at quality 95 moves pixels by about one grey level; more means real edits.
MAX_LOSSY_MEAN_DIFF = 3.0
LOSSLESS_VIDEO = {"ffv1"}
# Re-encoding with H.264 (rewrite_video, nothing edited) moved the pixels of the worst frame by 3.5
# grey levels on average at CRF 18, 5.0 at CRF 23 and 6.9 at CRF 28: 60 frames of walkway,
# hamilton and concourse-overhead (../shared/data/videos) at full size and downscaled, the worst
# being walkway at 480x270 (much detail per pixel); full-size clips with their faces blurred
# stayed at 2.1 (CRF 18). The rule allows about 1.3 times the worst; more in any one frame is an
# edit, not re-encoding. Lossless FFV1 is the exact proof. `bench/video_codec.py` prints these figures.
MAX_VIDEO_MEAN_DIFF = 4.5  # at CRF 18 (the default) or below
VIDEO_DIFF_PER_CRF = 0.45  # allowed on top for each CRF step above 18
# Stream kinds an anonymized video keeps; cover art (an image of the original) and data streams are dropped.
KEPT_STREAMS = ("video", "audio", "subtitle")


def verify_export(source: str | Path, export: str | Path, progress: ProgressArg = True) -> dict:
    """Compare ``export`` with ``source`` using the manifest written next to the export.

    Returns ``ok``, the ``checks`` (each with its ``value``, ``rule`` and ``ok``), counts and
    the ``problems`` found, one line each."""
    source, export = (Path(p).expanduser().resolve() for p in (source, export))
    for name, folder in (("source", source), ("export", export)):
        if not folder.is_dir():
            raise ConfigError(f"{name} {folder} is not a folder")
    claim = manifest.read(export)
    if claim is None:
        raise ConfigError(f"{export} has no manifest {manifest.manifest_path(export).name} beside "
                          "it: not an ldfa export (make one with `ldfa export` or `ldfa run`)")
    problems = []
    if Path(claim["source_root"]) != source:
        problems.append(f"the export was made from {claim['source_root']}, not from {source}")
    if not claim.get("complete"):
        problems.append("the export is incomplete (interrupted): rerun the export to finish it")
    listed, skipped = claim["files"], {s["file"]: s["reason"] for s in claim["skipped"]}
    present = set(tree.files_of(export))
    exported = {e.get("source", rel) for rel, e in listed.items() if e["kind"] != "added"}  # source names
    missing = [rel for rel in claim.get("only") or tree.files_of(source) if rel not in exported and rel not in skipped]
    problems += [f"source file neither exported nor listed as left out: {rel}" for rel in missing]
    problems += [f"missing from the export: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"not in the manifest: {rel}" for rel in sorted(present - set(listed))]
    copies = [rel for rel, e in listed.items() if e["kind"] == "copy" and rel in present]
    images = [rel for rel, e in listed.items() if e["kind"] == "anonymized" and rel in present]
    videos = [rel for rel, e in listed.items() if e["kind"] == "video" and rel in present]
    same = bad_images = 0
    hidden = {"anonymized": [], "unchanged": []}  # files with images in their metadata
    worst_share = worst_mean = 0.0
    with Progress(len(copies) + len(images) + len(videos), "Verifying export", progress) as bar:
        for rel in copies:
            bar.update()
            if (source / rel).is_file() and sha256_of(source / rel) == sha256_of(export / rel):
                same += 1
            else:
                problems.append(f"copy differs from the source: {rel}")
            if embedded_images(export / rel):
                hidden["unchanged"].append(rel)
        for rel in images:
            bar.update()
            share, mean, problem = _outside_masks(source / rel, export / rel, listed[rel]["faces"],
                                                  claim["mask"], listed[rel].get("plates", []))
            worst_share, worst_mean = max(worst_share, share), max(worst_mean, mean)
            if problem:
                bad_images += 1
                problems.append(f"{rel}: {problem}")
            found = embedded_images(export / rel)
            if found and (listed[rel]["faces"] or listed[rel].get("plates")):
                hidden["anonymized"].append(rel)
                problems.append(f"{rel}: anonymized, yet its metadata carries {'; '.join(found)}")
            elif found:  # no faces: copied from the source as it is
                hidden["unchanged"].append(rel)
        clips, limit = [], max_video_mean_diff(claim.get("videos", {}).get("quality"))
        for rel in videos:
            bar.update()
            entry = listed[rel]
            clips.append(check_video(source / entry.get("source", rel), export / rel, entry["frames"],
                                      claim["videos"]["mask"], limit, entry.get("plate_frames", [])))
            problems += [f"{rel}: {problem}" for problem in clips[-1]["problems"]]
    checks = [
        _check("every source file exported or listed as left out", len(missing) == 0,
               f"{len(listed)} exported, {len(skipped)} left out, {len(missing)} unaccounted",
               "0 unaccounted"),
        _check("copies identical to the source", same == len(copies), f"{same}/{len(copies)}",
               "all, byte for byte (SHA-256)"),
        _check("images changed only inside the face masks", bad_images == 0,
               f"largest share {worst_share:.4%}, largest mean change {worst_mean:.2f} grey levels",
               f"lossless images: 0 %; JPEG: mean change <= {MAX_LOSSY_MEAN_DIFF:g} (re-encoding)"),
        _check("no images hidden in anonymized images' metadata", not hidden["anonymized"],
               f"{len(hidden['anonymized'])} anonymized image(s) carry one; "
               f"{len(hidden['unchanged'])} file(s) copied unchanged do",
               "anonymized images: none (EXIF thumbnail, previews, MPF images, XMP face regions); "
               "files copied unchanged: reported only"),
    ]
    if "videos" in claim:
        checks += _video_checks(clips, limit)
    faces = sum(bool(listed[rel]["faces"]) for rel in images)
    with_faces = sum(bool(listed[rel]["frames"]) for rel in videos)
    return {"ok": not problems, "checks": checks, "files": len(listed), "left_out": len(skipped),
            "identical_copies": same, "anonymized_images": faces,
            "images_without_faces": len(images) - faces, "changed_outside_masks": worst_share,
            "anonymized_videos": with_faces, "videos_without_faces": len(videos) - with_faces,
            "video_changed_outside_masks": max((c["share"] for c in clips), default=0.0),
            "embedded_images": hidden,
            "problems": problems}


def _check(name: str, ok: bool, value: str, rule: str) -> dict:
    return {"check": name, "ok": ok, "value": value, "rule": rule}


def _outside_masks(original: Path, anonymized: Path, faces, mask: dict, plates=()) -> tuple[float, float, str | None]:
    """Share of pixels outside the face (and plate) masks that differ, their mean change, and
    what is wrong, if anything."""
    if not original.is_file():
        return 1.0, 255.0, "its source image is missing"
    with Image.open(original) as a, Image.open(anonymized) as b:
        if (a.size, a.mode, a.format) != (b.size, b.mode, b.format):
            return 1.0, 255.0, (f"size/mode/format {b.size} {b.mode} {b.format} != source "
                                f"{a.size} {a.mode} {a.format}")
        inside = to_stored_orientation(
            regions_mask(*shown_size(a), faces, mask, plates),
            orientation_of(a))
        diff = np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))
        if diff.ndim == 3:
            diff = diff.max(axis=-1)
        outside = diff[~inside]
        if not outside.size:
            return 0.0, 0.0, None
        share, mean = float((outside > 0).mean()), float(outside.mean())
        if share > 0 and a.format in LOSSLESS:
            return share, mean, f"{share:.4%} of the pixels outside the face masks changed (lossless: must be 0)"
        if mean > MAX_LOSSY_MEAN_DIFF:
            return share, mean, (f"pixels outside the face masks moved by {mean:.1f} on average "
                                 f"(more than re-encoding's {MAX_LOSSY_MEAN_DIFF:g})")
    return share, mean, None


def max_video_mean_diff(quality: int | None) -> float:
    """The largest mean change outside the face masks re-encoding explains in a frame of H.264
    video written at CRF ``quality`` (None: the default, 18)."""
    return MAX_VIDEO_MEAN_DIFF + VIDEO_DIFF_PER_CRF * max(0, (18 if quality is None else quality) - 18)


def _video_checks(clips: list[dict], limit: float) -> list[dict]:
    """The checks of the anonymized videos, each with what was measured and its rule."""
    n = len(clips)
    return [
        _check("videos keep the source's form", all(c["form"] for c in clips),
               f"{sum(c['form'] for c in clips)}/{n}",
               "frame count, frame rate, width x height, rotation and stream kinds equal the source's"),
        _check("audio and subtitle streams identical to the source", all(c["streams"] for c in clips),
               f"{sum(c['streams'] for c in clips)}/{n}", "every packet byte for byte (SHA-256 per stream)"),
        _check("video frames changed only inside the face masks", all(c["pixels"] for c in clips),
               f"largest share {max((c['share'] for c in clips), default=0.0):.4%}, largest mean change in a "
               f"frame {max((c['worst'] for c in clips), default=0.0):.2f} grey levels",
               f"lossless (FFV1): 0 %; H.264: mean change in every frame <= {limit:g} (re-encoding)"),
    ]


def check_video(original: Path, exported: Path, boxes: list, mask: dict, limit: float = MAX_VIDEO_MEAN_DIFF,
                plates: list = ()) -> dict:
    """How an anonymized video compares with its source: ``form`` (frame count, rate, size,
    rotation, stream kinds), ``streams`` (audio and subtitle packets), ``pixels`` (nothing
    changed outside the face masks), the figures (``share``, ``worst``) and the problems."""
    found = {"form": False, "streams": False, "pixels": False, "share": 1.0, "worst": 255.0, "problems": []}
    if not original.is_file():
        found["problems"].append("its source video is missing")
        return found
    try:
        a, b = probe(original), probe(exported)
        streams = _packet_digests(original), _packet_digests(exported)
    except ImageError as e:
        found["problems"].append(str(e))
        return found
    form, source_form = _form(b), _form(a)
    problems = [f"{name} {form[name]} != source {source_form[name]}" for name in form
                if form[name] != source_form[name]]
    if b.frames < a.frames:  # the frame count comes first
        problems[0] = f"shortened video: {b.frames} of {a.frames} frames"
    found["form"] = not problems
    if streams[0] != streams[1]:
        problems.append(f"audio/subtitle streams {_kinds(streams[1])} differ from the source's "
                        f"{_kinds(streams[0])} (packets compared byte for byte)")
    if "attached_pic" in b.streams:
        problems.append("carries cover art (an attached picture: an image of the original)")
    found["streams"] = streams[0] == streams[1] and "attached_pic" not in b.streams
    if a.frames == b.frames and (a.width, a.height) == (b.width, b.height):
        lossless = b.codec in LOSSLESS_VIDEO
        found.update(_frames_outside_masks(original, exported, boxes, mask, None if lossless else limit, plates))
    found["problems"] = problems + found["problems"]
    return found


def _form(info) -> dict:
    """What an anonymized video keeps of its source."""
    return {"frames": info.frames, "rate": info.rate, "size": f"{info.width}x{info.height}",
            "rotation": info.rotation, "streams": tuple(k for k in info.streams if k in KEPT_STREAMS)}


def _kinds(digests: list[tuple[str, str]]) -> str:
    return "[" + ", ".join(kind for kind, _ in digests) + "]"


def _packet_digests(path: Path) -> list[tuple[str, str]]:
    """Each audio and subtitle stream's kind and the SHA-256 of its packets (sizes and bytes, in
    order), read streaming."""
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type in ("audio", "subtitle")]
            digests = {s.index: hashlib.sha256() for s in streams}
            for packet in container.demux(streams) if streams else ():  # demux() of no stream reads all
                if packet.size:
                    digests[packet.stream.index].update(packet.size.to_bytes(8, "little") + bytes(packet))
            return [(s.type, digests[s.index].hexdigest()) for s in streams]  # PyAV's streams die with it
    except av.FFmpegError as e:
        raise ImageError(f"{path}: its packets cannot be read ({e})") from None


def _frames_outside_masks(original: Path, exported: Path, boxes: list, mask: dict, limit: float | None,
                          plates: list = ()) -> dict:
    """Compare the two videos frame by frame, streaming: the share of pixels outside the face
    masks that changed over the whole video, the largest mean change of a frame there, and
    whether they meet the rule (lossless, ``limit`` None: no change; else a frame's mean change
    at most ``limit``)."""
    changed = outside = 0
    worst, problems, last = 0.0, [], (None, None)
    try:
        for i, (a, b) in enumerate(zip(read_frames(original), read_frames(exported))):
            faces = (boxes[i] if i < len(boxes) else [], plates[i] if i < len(plates) else [])
            if last[0] != faces:  # boxes often stay put between frames: reuse the mask
                last = faces, regions_mask(a.shape[1], a.shape[0], faces[0], mask, faces[1])
            diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)[~last[1]]
            changed, outside = changed + int(np.count_nonzero(diff)), outside + diff.size
            worst = max(worst, float(diff.mean()) if diff.size else 0.0)
    except ImageError as e:
        problems.append(str(e))
    share = changed / outside if outside else 0.0
    if limit is None and changed:
        problems.append(f"{share:.4%} of the pixels outside the face masks changed (lossless: must be 0)")
    elif limit is not None and worst > limit:
        problems.append(f"pixels outside the face masks of a frame moved by {worst:.1f} on average "
                        f"(more than re-encoding's {limit:g})")
    return {"pixels": not problems, "share": share, "worst": worst, "problems": problems}
