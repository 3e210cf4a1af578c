"""Image files in and out: orientation as the App shows it, writes that appear whole."""

import os
import stat

import numpy as np
import pytest
from PIL import Image, ImageOps

from ldfa.plugin.io.atomic import atomic_write
from ldfa.plugin.io.images import display_size, read_rgb


def test_side_by_side_sizes_exif_rotated_images_as_the_app_shows_them(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40 x 30, shown rotated: 30 wide, 40 high
    Image.new("RGB", (40, 30)).save(tmp_path / "rotated.jpg", exif=exif)
    shown = read_rgb(str(tmp_path / "rotated.jpg"))[0].shape
    assert display_size(str(tmp_path / "rotated.jpg")) == (shown[1], shown[0]) == (30, 40)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_an_atomic_write_has_the_mode_a_plain_open_gives(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with atomic_write(tmp_path / "out.bin") as f:
            f.write(b"data")
        with open(tmp_path / "plain.bin", "wb") as f:
            f.write(b"data")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "out.bin").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == 0o666 & ~umask


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "w") as f:
            f.write("half")
            raise KeyboardInterrupt  # killed mid-write
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["kept.txt"]


def test_the_next_write_removes_what_a_writer_killed_before_its_rename_left(tmp_path):
    """SIGKILL runs no cleanup: the temporary stays until the target is written again."""
    for name in (".frame[1].png.abc123.tmp", ".frame[1].png.4242.link", ".other.png.abc123.tmp"):
        (tmp_path / name).write_bytes(b"half")
    with atomic_write(tmp_path / "frame[1].png") as f:
        f.write(b"whole")
    assert sorted(os.listdir(tmp_path)) == [".other.png.abc123.tmp", "frame[1].png"]


def test_a_16_bit_colour_png_keeps_its_depth_orientation_and_kept_metadata(tmp_path):
    """Written by OpenCV (Pillow writes colour at 8 bits only), with the metadata Pillow would
    write: a rotated 48-bit PNG comes back rotated, 48-bit, without the caption naming who is shown."""
    import cv2

    from ldfa.plugin.anonymization.config import AnonymizationConfig
    from ldfa.plugin.anonymization.faces import FaceTask, ImageTask, anonymize_images
    from ldfa.plugin.io.images import DeepImage
    from ldfa.plugin.io.output import save_atomic

    stored = np.random.default_rng(0).integers(1000, 65536, (30, 40, 3), dtype=np.uint16)
    carrier = Image.new("RGB", (1, 1))
    exif = Image.Exif()
    exif.update({0x0112: 6, 0x010F: "Canon", 0x010E: "Jane Doe"})  # orientation, make, caption
    carrier.info = {"exif": exif.tobytes(), "dpi": (300, 300)}
    save_atomic(DeepImage(stored, carrier), tmp_path / "in.png", 95)
    assert Image.open(tmp_path / "in.png").getexif()[0x010E] == "Jane Doe"
    face = FaceTask("f", (0.0, 0.0, 0.5, 0.25))  # as shown: the top-left 15 x 10 of 30 x 40
    config = AnonymizationConfig.build(method="solid", mask_blur_px=0)
    [result] = anonymize_images([ImageTask("s", str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                                           (face,))], config, None)
    assert result.error is None
    out = Image.open(tmp_path / "out.png")
    assert dict(out.getexif()) == {0x0112: 6, 0x010F: "Canon"} and round(out.info["dpi"][0]) == 300
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert written.dtype == np.uint16 and (written != stored).any(-1).sum() == 15 * 10
    assert (np.asarray(ImageOps.exif_transpose(out))[:10, :15] == 0).all()
