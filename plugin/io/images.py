"""Reading any image a dataset may hold as 8-bit RGB in the orientation the App shows.

Street datasets mix PNG, JPEG and worse: palette and 16-bit PNGs, grayscale, RGBA, CMYK JPEGs,
EXIF-rotated phone photos, truncated downloads. Every reader in ldfa goes through ``read_rgb``
so detection, anonymization and metrics all see the same pixels and the same geometry, and a
bad file becomes one ``ImageError`` with a reason instead of a crash.
"""

from __future__ import annotations

import mimetypes
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ldfa.plugin.errors import ImageError

EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    """What ``read_rgb`` found in the file, so writers can give back the same kind of file
    without decoding it again."""

    stored: Image.Image  # the decoded image as stored: its mode, palette, EXIF and format
    orientation: int  # EXIF orientation tag, 1 when absent


def read_rgb(path: str) -> tuple[np.ndarray, ImageInfo]:
    """Return (H x W x 3 uint8 RGB in display orientation, info); raise ImageError on bad input.

    The error says what is wrong with the file, not which file: callers record it beside the
    path. Animated and multi-page files are refused: their other frames would be neither
    detected nor kept, so anonymizing the first alone would drop or leak the rest."""
    try:
        with warnings.catch_warnings():
            # PIL warns on very large images; we decide by size ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                frames = getattr(img, "n_frames", 1)
                if frames > 1:
                    raise ImageError(f"{img.format} with {frames} frames: ldfa reads single "
                                     "images; split the frames into files to anonymize them all")
                img.load()
                info = ImageInfo(img, orientation_of(img))
                rgb = to_rgb(ImageOps.exif_transpose(img))
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except UnidentifiedImageError:
        raise ImageError("not an image file PIL can read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large to decode safely ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        # PIL reports truncated and corrupt data as OSError/SyntaxError/ValueError.
        raise ImageError(f"unreadable or truncated image ({e})") from None
    return rgb, info


def to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any PIL mode to H x W x 3 uint8 RGB, scaling high bit depths instead of clipping."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def orientation_of(img: Image.Image) -> int:
    """The EXIF orientation of an open image (1: stored as shown)."""
    return int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)


def shown_size(img: Image.Image) -> tuple[int, int]:
    """(width, height) of an open image as the App shows it (EXIF rotation applied)."""
    width, height = img.size
    return (height, width) if orientation_of(img) in (5, 6, 7, 8) else (width, height)


def display_size(path: str) -> tuple[int, int]:
    """(width, height) as the App shows the image (EXIF rotation applied), from the header only."""
    try:
        with Image.open(path) as img:
            return shown_size(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"unreadable image ({e})") from None


def is_image_name(name: str) -> bool:
    """Whether the file name's extension is an image type (``.jpg``, ``.png``, ``.tif``...)."""
    return (mimetypes.guess_type(name)[0] or "").startswith("image/")
