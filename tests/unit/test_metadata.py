"""Nothing of the original photo survives in an anonymized file's metadata (issue 19, point 4):
no EXIF thumbnail, MakerNote preview, MPF image or XMP face region; orientation, camera, time
and GPS stay unless ``strip_metadata`` asks for a clean file."""

import numpy as np
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import FaceTask, ImageTask, anonymize_images
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.io.metadata import embedded_images

T, IFD = ExifTags.Base, ExifTags.IFD
FACE = (0.25, 0.25, 0.5, 0.5)
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:mwg-rs="http://www.metadataworkinggroup.com/'
       b'schemas/regions/"><mwg-rs:Regions><mwg-rs:RegionList><rdf:Bag><rdf:li><mwg-rs:Name>Jane '
       b'Doe</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type></rdf:li></rdf:Bag></mwg-rs:RegionList>'
       b'</mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>')


def photo(tmp_path, exif: bytes, fmt: str = "JPEG"):
    """A photo whose EXIF thumbnail and preview show other pixels than the file (its original)."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    path = tmp_path / f"photo.{fmt.lower()}"
    extra = {"xmp": XMP}
    if fmt == "PNG":
        extra = {"pnginfo": PngImagePlugin.PngInfo()}
        extra["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=True)
    Image.fromarray(pixels).save(path, fmt, exif=exif, **extra)
    return path


def anonymize(path, tmp_path, **params):
    target = tmp_path / "out" / path.name
    task = ImageTask("s", str(path), str(target), (FaceTask("f", FACE),))
    [result] = anonymize_images([task], AnonymizationConfig.build(method="solid", **params), None)
    assert result.error is None
    return target


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_anonymized_file_keeps_camera_time_and_gps_but_no_thumbnail_preview_or_regions(
        tmp_path, exif_with_previews, fmt):
    source = photo(tmp_path, exif_with_previews(Image.new("RGB", (16, 12), "red"), orientation=6), fmt)
    found = " ".join(embedded_images(source))
    assert "EXIF thumbnail" in found and "embedded image" in found and "mwg-rs:Regions" in found

    out = anonymize(source, tmp_path)
    assert embedded_images(out) == []
    with Image.open(out) as img:
        exif = img.getexif()
        assert not {"xmp", "XML:com.adobe.xmp"} & set(img.info)
        assert (exif[T.Orientation], exif[T.Make], exif[T.Model], exif[T.DateTime]) == (
            6, "Canon", "EOS 5D", "2024:05:01 12:00:00")
        assert T.ImageDescription not in exif  # "Jane Doe at home": names who is shown
        assert exif.get_ifd(IFD.GPSInfo)[1] == "N"
        assert exif.get_ifd(IFD.Exif) == {T.DateTimeOriginal: "2024:05:01 12:00:00"}  # no MakerNote
        assert exif.get_ifd(IFD.IFD1) == {}
    # the face is the solid fill, shown the way the source is (orientation 6: 60 wide, 80 high)
    shown = read_rgb(str(out))[0]
    assert shown.shape == read_rgb(str(source))[0].shape == (80, 60, 3)
    assert (shown[30:50, 20:40] < 10).all()


def test_strip_metadata_keeps_the_orientation_alone_and_changes_the_digest(tmp_path, exif_with_previews):
    source = photo(tmp_path, exif_with_previews(Image.new("RGB", (16, 12), "red"), orientation=6))
    out = anonymize(source, tmp_path, strip_metadata=True)
    with Image.open(out) as img:
        assert dict(img.getexif()) == {T.Orientation: 6}
        assert img.getexif().get_ifd(IFD.GPSInfo) == {} and "xmp" not in img.info
    assert embedded_images(out) == []
    plain = AnonymizationConfig.build(method="solid")
    assert plain.digest() == AnonymizationConfig.build(method="solid", strip_metadata=False).digest()
    assert plain.digest() != AnonymizationConfig.build(method="solid", strip_metadata=True).digest()


def test_embedded_images_finds_mpo_pictures_and_images_after_a_jpegs_end(tmp_path):
    first, second = Image.new("RGB", (32, 24), "blue"), Image.new("RGB", (32, 24), "green")
    first.save(tmp_path / "pair.mpo", "MPO", save_all=True, append_images=[second])
    found = embedded_images(tmp_path / "pair.mpo")
    assert any("MPF" in f for f in found) and "1 image(s) after the end of the JPEG" in found
    first.save(tmp_path / "clean.jpg")
    assert embedded_images(tmp_path / "clean.jpg") == []


def test_the_original_obama_photo_leaves_no_thumbnail_in_its_anonymized_version(shared_data, tmp_path):
    source = shared_data / "identities/face_recognition/examples/knn_examples/train/obama/obama.jpg"
    assert "APP1: EXIF thumbnail (IFD1)" in embedded_images(source)
    out = anonymize(source, tmp_path)
    assert embedded_images(out) == []
    with Image.open(out) as img:
        exif = img.getexif()
        assert (exif[T.Make], exif[T.Model]) == ("Canon", "Canon EOS 5D Mark III")
        assert T.ImageDescription not in exif  # it names the President
        assert exif.get_ifd(IFD.IFD1) == {} and not {"photoshop", "xmp"} & set(img.info)
