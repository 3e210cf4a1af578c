"""Image files in and out: orientation as the App shows it, writes that appear whole."""

import os
import stat

import pytest
from PIL import Image

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
