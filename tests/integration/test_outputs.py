"""What ldfa leaves on disk: files people can read, no frame dropped quietly, the tree the user
gave, and tests that never touch a user's database."""

import os
import stat

import pytest
from PIL import Image

import ldfa
from ldfa.converters.cityscapes import import_cityscapes
from ldfa.converters.export import export_anonymized


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_written_file_has_the_mode_a_plain_open_gives(fo, dataset, tmp_path, umask):
    """Anonymized images, export copies (annotations too), the manifest and the report: 0644
    under umask 022, 0640 under 027, as ``open()`` would make them (not mkstemp's 0600)."""
    root = tmp_path / "cityscapes"
    frame = root / "leftImg8bit/val/bochum/bochum_000000_000001_leftImg8bit.png"
    frame.parent.mkdir(parents=True)
    Image.new("RGB", (64, 32), (90, 90, 90)).save(frame)
    labels = root / "gtFine/val/bochum/bochum_000000_000001_gtFine_labelIds.png"
    labels.parent.mkdir(parents=True)
    Image.new("L", (64, 32)).save(labels)
    os.chmod(labels, 0o600)  # even a private source file comes back readable as the umask says
    import_cityscapes(root, dataset, progress=False)
    dataset.set_values("faces", [fo.Detections(detections=[
        fo.Detection(label="face", bounding_box=[0.4, 0.3, 0.2, 0.4])])])
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "anon", progress=False)
    out = tmp_path / "export"
    export_anonymized(dataset, "anon_pixelate", out, progress=False)
    from ldfa.plugin.metrics.report import _atomic_text

    _atomic_text(tmp_path / "report.md", "# report\n")
    expected = 0o666 & ~umask
    written = [tmp_path / "anon/bochum_000000_000001_leftImg8bit.png",
               out / frame.relative_to(root), out / labels.relative_to(root),
               tmp_path / "export.ldfa-manifest.json", tmp_path / "report.md"]
    assert {str(p): oct(mode(p)) for p in written} == {str(p): oct(expected) for p in written}


@pytest.mark.parametrize("name", ["animated.gif", "pages.tif"])
def test_multi_frame_images_are_recorded_failures_not_first_frames(fo, dataset, sample_photos, tmp_path, name):
    face = Image.open(sample_photos[0]).convert("RGB").resize((128, 128))
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / name
    face.save(path, save_all=True, append_images=[face.rotate(90), face.rotate(180)])
    dataset.add_sample(fo.Sample(filepath=str(path)))
    summary = ldfa.detect_faces(dataset, progress=False)
    [failure] = summary.failures
    assert "3 frames" in failure["error"] and "split the frames" in failure["error"]
    result = ldfa.anonymize_faces(dataset, method="solid", output_dir=tmp_path / "out", progress=False)
    assert (result.failed, result.written) == (1, 0)
    assert not (tmp_path / "out" / name).exists(), "no copy with its other frames dropped"


def test_a_symlink_out_of_the_images_folder_does_not_move_the_tree(fo, dataset, sample_photos, tmp_path):
    """`passwd.jpg -> /etc/passwd` once made the source root `/`, so every output folder was
    refused as inside it. Paths stay below the folder the user gave; the link is read through
    (and fails to decode, recorded) and the images are mirrored beside the folder."""
    from ldfa.plugin.io.folders import add_image_folder

    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "astronaut.png").write_bytes(sample_photos[0].read_bytes())
    (folder / "passwd.jpg").symlink_to("/etc/passwd")
    add_image_folder(dataset, folder)
    ldfa.detect_faces(dataset, progress=False)
    summary = ldfa.anonymize_faces(dataset, method="solid", progress=False)
    assert (summary.written, summary.failed) == (1, 1)
    assert dataset.values("anon_solid").count(None) == 1
    assert (tmp_path / "images-anon_solid" / "astronaut.png").is_file()


def test_the_tests_database_is_their_own_server(fo, database_folder):
    """FiftyOne would attach to any FiftyOne database already running on the machine; the
    tests point it at a mongod they started, serving their own folder (``ldfa_testing.private_db``)."""
    from fiftyone.core.odm.database import get_db_client

    options = get_db_client().admin.command("getCmdLineOpts")["parsed"]
    assert options["storage"]["dbPath"] == str(database_folder / "db")
    assert fo.config.database_uri == f"mongodb://127.0.0.1:{options['net']['port']}"
