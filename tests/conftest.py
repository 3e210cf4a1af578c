"""Fixtures for every test; none needs a database or a model.

``tests/unit`` uses only these. ``tests/integration/conftest.py`` adds a private FiftyOne
database, datasets and the tiny diffusion model. Helpers shared with the benchmarks live in
``ldfa_testing``.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data beside the checkout; tests that need it skip, saying why, without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test photos at {SHARED_DATA} (not part of a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory):
    """The public-domain photos that ship inside installed packages, written as files."""
    from ldfa.plugin.io.sample_photos import write_sample_photos

    return write_sample_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def exif_with_previews():
    """A function: EXIF bytes like a camera's, ``thumbnail`` as IFD1 thumbnail and MakerNote
    preview (JPEG) beside harmless tags (orientation, camera, time, GPS), a caption naming who
    is shown and a serial number. Pillow never writes IFD1, so it is appended by hand."""
    import io
    import struct

    from PIL import ExifTags, Image

    def build(thumbnail: Image.Image, orientation: int = 1) -> bytes:
        jpeg = io.BytesIO()
        thumbnail.convert("RGB").save(jpeg, "JPEG")
        jpeg = jpeg.getvalue()
        tag, ifd = ExifTags.Base, ExifTags.IFD
        exif = Image.Exif()
        exif.update({tag.Orientation: orientation, tag.Make: "Canon", tag.Model: "EOS 5D",
                     tag.DateTime: "2024:05:01 12:00:00", tag.ImageDescription: "Jane Doe at home"})
        exif[ifd.Exif] = {tag.DateTimeOriginal: "2024:05:01 12:00:00", tag.MakerNote: b"Canon\0" + jpeg,
                          tag.BodySerialNumber: "0123456789"}
        exif[ifd.GPSInfo] = {1: "N", 2: (48.0, 8.0, 30.0), 3: "E", 4: (11.0, 34.0, 12.0)}
        tiff = exif.tobytes()[6:]  # without the "Exif\0\0" header
        order = "<" if tiff[:2] == b"II" else ">"
        count = struct.unpack(order + "H", tiff[8:10])[0]
        next_ifd = 10 + 12 * count  # where IFD0 names the next IFD: IFD1
        ifd1 = len(tiff)
        thumb = ifd1 + 2 + 2 * 12 + 4
        tiff = (tiff[:next_ifd] + struct.pack(order + "I", ifd1) + tiff[next_ifd + 4:]
                + struct.pack(order + "HHHIIHHIII", 2, tag.JpegIFOffset, 4, 1, thumb,
                              tag.JpegIFByteCount, 4, 1, len(jpeg), 0) + jpeg)
        return b"Exif\0\0" + tiff

    return build
