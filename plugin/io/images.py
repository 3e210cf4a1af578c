"""Reading any image a dataset may hold (or one in memory) as 8-bit RGB in the orientation the
App shows, keeping what writers need to give back the same kind of image.

Street datasets mix PNG, JPEG and worse: palette and 16-bit PNGs, grayscale, RGBA, CMYK JPEGs,
EXIF-rotated phone photos, truncated downloads. Every reader in ldfa goes through ``read_rgb``
so detection, anonymization and metrics all see the same pixels and the same geometry, and a
bad file becomes one ``ImageError`` with a reason instead of a crash. A PNG of 16 bits a colour
channel, which Pillow decodes to 8, is also read at full depth (``DeepImage``), so that its
pixels outside the faces are written back bit for bit.
"""

from __future__ import annotations

import mimetypes
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ldfa.plugin.errors import ImageError

EXIF_ORIENTATION = 0x0112


_DEEP_RAWMODES = {"RGB;16B": 3, "RGBA;16B": 4}  # Pillow's PNG raw modes it reduces to 8 bits


@dataclass(frozen=True)
class DeepImage:
    """A colour image at 16 bits a channel, which no PIL mode holds: its stored values and
    Pillow's 8-bit decode of it (the high bytes, and the file's metadata), which is what
    detection and the methods see."""

    pixels: np.ndarray  # H x W x 3 or 4 uint16, RGB(A), in stored orientation
    image: Image.Image


@dataclass(frozen=True)
class ImageInfo:
    """What ``read_rgb`` found in the file, so writers can give back the same kind of file
    without decoding it again."""

    stored: Image.Image | DeepImage  # the image as stored: its mode, palette, bit depth, EXIF, format
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
                channels = _deep_channels(img)
                img.load()
                rgb, info = decoded(DeepImage(_read_deep(path, channels), img) if channels else img)
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


def decode(image) -> tuple[np.ndarray, ImageInfo]:
    """``read_rgb`` for an image in memory: a PIL image, or an array (H x W grey, H x W x 3 RGB,
    H x W x 4 RGBA; uint8, or uint16 for 16 bits a channel)."""
    if isinstance(image, Image.Image):
        image.load()
        return decoded(image)
    array = np.asarray(image)
    colour = array.ndim == 3 and array.shape[2] in (3, 4)
    if array.dtype == np.uint16 and colour:
        return decoded(DeepImage(array, Image.fromarray((array >> 8).astype(np.uint8))))
    if array.dtype == np.uint8 and (colour or array.ndim == 2) or array.dtype == np.uint16 and array.ndim == 2:
        return decoded(Image.fromarray(array))
    raise ImageError(f"an image array is H x W, H x W x 3 or H x W x 4 of uint8 or uint16, "
                     f"not {'x'.join(map(str, array.shape))} {array.dtype}")


def decoded(stored: Image.Image | DeepImage) -> tuple[np.ndarray, ImageInfo]:
    """The display RGB of a loaded image, and what writers need to give it back."""
    img = stored.image if isinstance(stored, DeepImage) else stored
    return to_rgb(ImageOps.exif_transpose(img)), ImageInfo(stored, orientation_of(img))


def _deep_channels(img: Image.Image) -> int:
    """The channels of an opened, not yet loaded PNG of 16 bits a colour channel; 0 for any
    other image."""
    if img.format != "PNG" or not img.tile:
        return 0
    args = img.tile[0][3]
    return _DEEP_RAWMODES.get(args[0] if isinstance(args, tuple) else args, 0)


def _read_deep(path: str, channels: int) -> np.ndarray:
    """A 16-bit colour PNG's values, RGB(A), as stored (OpenCV reads all 16 bits)."""
    import cv2  # only for these files

    bgr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if bgr is None or bgr.dtype != np.uint16 or bgr.ndim != 3:
        raise ImageError("a 16-bit PNG OpenCV cannot read at full depth")
    return bgr[..., [2, 1, 0, 3][:channels]]


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
