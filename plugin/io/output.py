"""Writing anonymized images: same format, size, mode and orientation as the source, atomically.

The new pixels are computed in display orientation and 8-bit RGB (``images.read_rgb``). Here
they go back into the *original* file's pixel array, in its stored orientation and mode, through
the face mask only, so every other stored value is the source's own (bit for bit in lossless
formats, at 16 bits a channel too; JPEG is re-encoded at ``jpeg_quality``). Of the metadata,
only what ``metadata.kept_info`` allows goes along (orientation always): never a thumbnail,
preview or face region of the original.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from ldfa.plugin.errors import ImageError, OutputError
from ldfa.plugin.io.atomic import atomic_copy, atomic_write
from ldfa.plugin.io.images import DeepImage, read_rgb
from ldfa.plugin.io.metadata import SAVED_INFO, kept_info

# Transposes that undo ``ImageOps.exif_transpose`` for each EXIF orientation value.
_UNDO_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def to_stored_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Map a display-orientation array back to how the file stores its pixels."""
    if orientation not in _UNDO_ORIENTATION:
        return array
    if array.dtype == bool:
        img = Image.fromarray(array.astype(np.uint8) * 255)
        return np.asarray(img.transpose(_UNDO_ORIENTATION[orientation])) > 0
    return np.asarray(Image.fromarray(array).transpose(_UNDO_ORIENTATION[orientation]))


def _in_mode(rgb: np.ndarray, original: Image.Image) -> np.ndarray:
    """``rgb`` converted to the original's mode, as the array PIL stores for that mode."""
    mode = original.mode
    new = Image.fromarray(rgb)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.asarray(new.convert("L"), dtype=np.uint32) * 257  # 8-bit -> full 16-bit range
        top = np.asarray(original).max(initial=0)
        if mode == "I" and top <= 255:  # an 8-bit-range "I" image stays in its range
            gray //= 257
        return gray.astype(np.asarray(original).dtype)
    if mode == "P":
        return np.asarray(new.quantize(palette=original, dither=Image.Dither.NONE))
    if mode in ("RGBA", "LA"):
        with_alpha = new.convert(mode[0] if mode == "LA" else "RGB")
        with_alpha.putalpha(original.getchannel("A"))
        return np.asarray(with_alpha)
    return np.asarray(new.convert(mode))


def _palette_with(original: Image.Image, colours: np.ndarray) -> Image.Image:
    """A palette image holding ``original``'s palette and, as far as its 256 entries have room,
    the new pixels' ``colours`` (most frequent first): quantized to the photo's own palette alone,
    a solid fill would come out as the photo's nearest colour (a street photo's dark grey)."""
    palette = original.getpalette() or []
    known = {tuple(palette[i : i + 3]) for i in range(0, len(palette), 3)}
    found, counts = np.unique(colours.reshape(-1, 3), axis=0, return_counts=True)
    missing = [tuple(map(int, c)) for c in found[np.argsort(-counts, kind="stable")]]
    missing = [c for c in missing if c not in known][: 256 - len(palette) // 3]
    extended = Image.new("P", (1, 1))
    extended.putpalette(palette + [v for c in missing for v in c])
    return extended


def compose(original: Image.Image | DeepImage | str, display_rgb: np.ndarray,
            display_mask: np.ndarray, orientation: int, strip_metadata: bool = False
            ) -> Image.Image | DeepImage:
    """The source image (decoded, as ``read_rgb`` keeps it, or its path) with the masked pixels
    replaced by ``display_rgb``'s, in its own mode and bit depth, carrying the metadata
    ``kept_info`` allows."""
    if isinstance(original, str):
        return compose(read_rgb(original)[1].stored, display_rgb, display_mask, orientation,
                       strip_metadata)
    if isinstance(original, DeepImage):
        return _compose_deep(original, display_rgb, display_mask, orientation, strip_metadata)
    stored_rgb = to_stored_orientation(display_rgb, orientation)
    mask = to_stored_orientation(display_mask, orientation)
    stored = np.asarray(original)
    palette = _palette_with(original, stored_rgb[mask]) if original.mode == "P" else original
    new = _in_mode(stored_rgb, palette)
    where = mask if stored.ndim == 2 else mask[..., None]
    merged = np.where(where, new, stored).astype(stored.dtype)
    result = Image.fromarray(merged)
    if result.mode != original.mode:  # e.g. "P" and "CMYK" are not inferred from the array
        result = Image.fromarray(merged, original.mode)
    if original.mode == "P":
        result.putpalette(palette.getpalette())
    result.info = kept_info(original, strip_metadata)
    result.format = original.format
    return result


def _compose_deep(original: DeepImage, display_rgb: np.ndarray, display_mask: np.ndarray,
                  orientation: int, strip_metadata: bool) -> DeepImage:
    """``compose`` at 16 bits a channel: the new 8-bit colours scaled to the full range, every
    other value (alpha included) the source's own."""
    mask = to_stored_orientation(display_mask, orientation)
    merged = original.pixels.copy()
    merged[..., :3][mask] = to_stored_orientation(display_rgb, orientation)[mask].astype(np.uint16) * 257
    shown = Image.fromarray((merged >> 8).astype(np.uint8))
    shown.info = kept_info(original.image, strip_metadata)
    return DeepImage(merged, shown)


def _deep_png(image: DeepImage) -> bytes:
    """A 16-bit PNG of ``image``: OpenCV encodes the pixels (Pillow writes colour at 8 bits
    only), and the metadata chunks are those Pillow writes for the kept ``info``."""
    import cv2  # only for these images

    pixels = image.pixels
    done, encoded = cv2.imencode(".png", pixels[..., [2, 1, 0, 3][: pixels.shape[2]]])
    if not done:
        raise ImageError("OpenCV could not encode a 16-bit PNG")
    carrier = io.BytesIO()
    Image.new("RGB", (1, 1)).save(carrier, "PNG", **{k: image.image.info[k] for k in SAVED_INFO
                                                    if k in image.image.info})
    data, chunks, pos = carrier.getvalue(), [], 8
    while pos < len(data):
        end = pos + 12 + struct.unpack(">I", data[pos : pos + 4])[0]
        if data[pos + 4 : pos + 8] not in (b"IHDR", b"IDAT", b"IEND"):
            chunks.append(data[pos:end])
        pos = end
    png = encoded.tobytes()
    return png[:33] + b"".join(chunks) + png[33:]  # after the signature and IHDR (8 + 25 bytes)


def save_atomic(image: Image.Image | DeepImage, target: Path, jpeg_quality: int) -> None:
    """Write ``image`` in its source format to ``target`` atomically (``ldfa.plugin.io.atomic``)."""
    if isinstance(image, DeepImage):
        data = _deep_png(image)
        with atomic_write(target) as f:
            f.write(data)
        return
    options = {k: image.info[k] for k in SAVED_INFO if k in image.info}
    fmt = image.format or "PNG"
    if fmt == "JPEG":
        options.update(quality=jpeg_quality, subsampling=0 if jpeg_quality >= 90 else 2)
    try:
        with atomic_write(target) as f:
            image.save(f, format=fmt, **options)
    except (OSError, ValueError) as e:
        raise ImageError(f"could not write {target}: {e}") from None


def copy_atomic(source: str, target: Path, link: bool = False) -> None:
    """An unchanged copy (or a hard link, when ``link`` and the filesystem allow) of ``source``."""
    try:
        atomic_copy(source, target, link=link)
    except OSError as e:
        raise OutputError(f"could not write {target}: {e}") from None


def refuse_inside(source: Path, output: Path, what: str = "output", source_is: str = "the source tree") -> None:
    """Refuse an output inside ``source`` or holding it, as the paths are written and once links
    are followed: originals are read-only, and an output below a source would be read back as one."""
    for src, out in ((Path(os.path.abspath(source)), Path(os.path.abspath(output))),
                     (source.resolve(), output.resolve())):
        if out.is_relative_to(src):
            raise OutputError(f"{what} {output} is inside {source_is} {source}; choose a folder outside it")
        if src.is_relative_to(out):
            raise OutputError(f"{what} {output} holds {source_is} {source}; choose another folder")
    if output.exists() and not output.is_dir():
        raise OutputError(f"{what} {output} is a file, not a folder; choose a folder")


def output_path(filepath: str, source_root: Path, output_dir: Path) -> Path:
    """Where the anonymized copy of ``filepath`` goes: the same relative path under output_dir."""
    return output_dir / Path(os.path.abspath(filepath)).relative_to(source_root)
