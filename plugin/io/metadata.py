"""What metadata an anonymized file may carry, and finding images hidden in a file's metadata.

An output must hold nothing of the original photo but its pixels outside the faces, and
metadata can hold the rest: an EXIF thumbnail (IFD1) or a MakerNote preview is the whole
original, MPF appends more images after it, Photoshop and XMP blocks carry thumbnails and face
regions (``mwg-rs:Regions``, Microsoft's ``MP:RegionInfo``) that name and locate people, and
free text (``ImageDescription``, ``UserComment``) often names who is shown. So the rule lists
what is kept, never what is dropped, in every format Pillow writes:

- EXIF (JPEG APP1, PNG eXIf, WebP EXIF, TIFF tags): the tags of ``KEPT_EXIF`` only (orientation,
  camera and exposure, time, rights) and the whole GPS block; never IFD1, MakerNote, free text
  or serial numbers. With ``strip``: the Orientation tag alone, because the pixels are written
  back as the source stores them and without it they would show rotated.
- how pixels render: ICC profile, dpi, transparency (they change how the pixels look, not what
  they show; dropping the profile would shift every colour outside the faces).
- nothing else: XMP, IPTC/Photoshop, comments, PNG text chunks and MPF are never written.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image

_T = ExifTags.Base
KEPT_EXIF = {
    "image": {_T.Orientation, _T.Make, _T.Model, _T.Software, _T.DateTime, _T.XResolution,
              _T.YResolution, _T.ResolutionUnit, _T.Artist, _T.Copyright},
    ExifTags.IFD.Exif: {
        _T.ExifVersion, _T.DateTimeOriginal, _T.DateTimeDigitized, _T.OffsetTime,
        _T.OffsetTimeOriginal, _T.OffsetTimeDigitized, _T.SubsecTime, _T.SubsecTimeOriginal,
        _T.SubsecTimeDigitized, _T.ExposureTime, _T.FNumber, _T.ExposureProgram,
        _T.ISOSpeedRatings, _T.SensitivityType, _T.ShutterSpeedValue, _T.ApertureValue,
        _T.BrightnessValue, _T.ExposureBiasValue, _T.MaxApertureValue, _T.MeteringMode,
        _T.LightSource, _T.Flash, _T.FocalLength, _T.ColorSpace, _T.ExifImageWidth,
        _T.ExifImageHeight, _T.ExposureMode, _T.WhiteBalance, _T.DigitalZoomRatio,
        _T.FocalLengthIn35mmFilm, _T.SceneCaptureType, _T.LensSpecification, _T.LensMake,
        _T.LensModel},
    ExifTags.IFD.GPSInfo: None,  # every GPS tag
}
# Image.save options that carry metadata an output may keep (``kept_info`` fills them).
SAVED_INFO = ("exif", "icc_profile", "dpi", "transparency")

_JPEG, _PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
_BASE64_IMAGE = re.compile(rb"/9j/[A-Za-z0-9+/]{40}|iVBORw0KGgo[A-Za-z0-9+/]{40}")
_REGIONS = (b"mwg-rs:Regions", b"MP:RegionInfo", b"MPRI:Regions")


def kept_info(original: Image.Image, strip: bool = False) -> dict:
    """The ``Image.info`` an anonymized version of ``original`` may carry (module docstring)."""
    info = {k: original.info[k] for k in SAVED_INFO if k != "exif" and k in original.info}
    exif = kept_exif(original.getexif(), strip)
    if exif:
        info["exif"] = exif
    return info


def kept_exif(source: Image.Exif, strip: bool = False) -> bytes:
    """``source`` reduced to the tags of ``KEPT_EXIF`` (the Orientation alone with ``strip``),
    as EXIF bytes; empty when nothing is left."""
    exif = Image.Exif()
    image_tags = {_T.Orientation} if strip else KEPT_EXIF["image"]
    for tag in image_tags & set(source):
        exif[tag] = source[tag]
    for ifd, tags in () if strip else ((ExifTags.IFD.Exif, KEPT_EXIF[ExifTags.IFD.Exif]),
                                        (ExifTags.IFD.GPSInfo, None)):
        kept = {t: v for t, v in source.get_ifd(ifd).items() if tags is None or t in tags}
        if kept:
            exif[ifd] = kept
    return exif.tobytes() if len(exif) else b""


def embedded_images(path: str | Path) -> list[str]:
    """What ``path`` carries besides its own pixels that shows or locates what it depicts:
    thumbnails and previews (EXIF IFD1, JPEG or PNG data in JPEG APPn segments, PNG ancillary
    chunks or WebP metadata chunks, base64 images in XMP), MPF image lists, images after a
    JPEG's end, and XMP face regions. One line each; empty for a clean file."""
    with open(path, "rb") as f:
        head = f.read(12)
        scan = (_in_jpeg if head.startswith(_JPEG[:2]) else _in_png if head.startswith(_PNG)
                else _in_webp if head[:4] == b"RIFF" and head[8:12] == b"WEBP" else None)
        return scan(head + f.read()) if scan else []


def _in_jpeg(data: bytes) -> list[str]:
    found, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        payload = data[pos + 4:pos + 2 + length]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            where = f"APP{marker - 0xE0}" if marker != 0xFE else "COM"
            if payload.startswith(b"MPF\0"):
                found.append(f"{where}: MPF list of further images (MPO)")
            found += _in_payload(payload, where)
        pos += 2 + length
        if marker == 0xDA:  # start of scan: the entropy-coded data ends at the first FFD9
            end = data.find(b"\xff\xd9", pos)
            rest = data[end + 2:] if end >= 0 else b""
            images = rest.count(_JPEG) + rest.count(_PNG)
            if images:
                found.append(f"{images} image(s) after the end of the JPEG")
            break
    return found


def _in_png(data: bytes) -> list[str]:
    found, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        name = kind.decode("latin-1")
        if kind not in (b"IHDR", b"PLTE", b"IDAT", b"IEND"):
            found += _in_payload(_png_text(kind, payload), f"PNG {name} chunk")
        pos += 12 + length
    return found


def _png_text(kind: bytes, payload: bytes) -> bytes:
    """A text chunk's text, inflated where it is compressed; any other chunk as it is."""
    try:
        if kind == b"zTXt":
            return zlib.decompress(payload[payload.index(b"\0") + 2:])
        if kind == b"iTXt":
            keyword_end = payload.index(b"\0")
            compressed = payload[keyword_end + 1]
            text = payload[keyword_end + 3:]
            text = text[text.index(b"\0") + 1:]  # language tag
            text = text[text.index(b"\0") + 1:]  # translated keyword
            return zlib.decompress(text) if compressed else text
    except (ValueError, IndexError, zlib.error):
        pass
    return payload


def _in_webp(data: bytes) -> list[str]:
    found, pos = [], 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        if kind in (b"EXIF", b"XMP "):
            found += _in_payload(data[pos + 8:pos + 8 + length], f"WebP {kind.decode().strip()} chunk")
        pos += 8 + length + (length & 1)
    return found


def _in_payload(payload: bytes, where: str) -> list[str]:
    """Images and face regions inside one metadata block."""
    found = []
    jpegs = payload.count(_JPEG)
    if payload.startswith(b"Exif\0\0") or payload[:4] in (b"II*\0", b"MM\0*"):
        exif = Image.Exif()
        try:
            exif.load(payload)
            thumbnail = exif.get_ifd(ExifTags.IFD.IFD1)
        except (SyntaxError, ValueError, struct.error):
            thumbnail = {}
        if _T.JpegIFOffset in thumbnail or _T.StripOffsets in thumbnail:
            found.append(f"{where}: EXIF thumbnail (IFD1)")
            if _T.JpegIFOffset in thumbnail and jpegs:
                jpegs -= 1  # the thumbnail itself
    if jpegs or _PNG in payload:
        found.append(f"{where}: {jpegs + payload.count(_PNG)} embedded image(s)")
    if _BASE64_IMAGE.search(payload):
        found.append(f"{where}: base64 image (XMP thumbnail)")
    regions = [r.decode() for r in _REGIONS if r in payload]
    if regions:
        found.append(f"{where}: face regions ({', '.join(regions)})")
    return found
