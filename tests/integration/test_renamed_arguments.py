"""SDK keyword arguments renamed since 0.1 still work until 0.3, with a DeprecationWarning."""

import pytest

import ldfa
from ldfa.plugin.errors import ConfigError

# Every SDK keyword argument renamed so far (c985307: out_field/anon_field -> field,
# anonymize_dataset's detector name -> a detection config).
RENAMED = [("anonymize_faces", "out_field", "field"), ("reanonymize_faces", "out_field", "field"),
           ("guard_identity", "out_field", "field"), ("evaluate_face_detection", "anon_field", "field"),
           ("compute_identity_distance", "anon_field", "field"),
           ("compute_residual_similarity", "anon_field", "field"),
           ("anonymize_dataset", "detector", "detection")]


@pytest.mark.parametrize("name, old, new", RENAMED)
def test_each_renamed_argument_is_known_by_its_old_name(fo, name, old, new):
    """Old and new together: refused before any work, which shows the old name is mapped."""
    with pytest.raises(ConfigError, match=f"{old} is the old name of {new}"):
        getattr(ldfa, name)(None, **{old: "x", new: "x"})


def test_anonymize_faces_out_field_gives_what_field_gives(fo, dataset, sample_photos, tmp_path):
    dataset.add_sample(fo.Sample(filepath=str(sample_photos[0]), faces=fo.Detections(
        detections=[fo.Detection(label="face", bounding_box=[0.35, 0.1, 0.25, 0.3])])))
    with pytest.warns(DeprecationWarning, match=r"out_field= is now field= \(out_field goes in 0\.3\)"):
        old = ldfa.anonymize_faces(dataset, method="gauss", out_field="anon_old",
                                   output_dir=tmp_path / "old", progress=False)
    new = ldfa.anonymize_faces(dataset, method="gauss", field="anon_new", output_dir=tmp_path / "new",
                               progress=False)
    assert (old.field, old.written, new.written) == ("anon_old", 1, 1)
    sample = dataset.first()
    with open(sample["anon_old"], "rb") as a, open(sample["anon_new"], "rb") as b:
        assert a.read() == b.read()
