"""Resume edge cases: a killed overwrite run, and a rerun of the same config into a new folder."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_anonymize import FACE, add, crash_on_second_save, photo_tree  # noqa: F401 - photo_tree is a fixture

import ldfa


def pixels(path):
    return np.asarray(Image.open(path))


def test_a_killed_overwrite_run_resumes_without_keeping_the_old_configs_files(
    dataset, photo_tree, tmp_path, monkeypatch  # noqa: F811
):
    root, png, jpg, empty = photo_tree
    for p in (png, jpg):
        add(dataset, p, FACE)
    out_dir = tmp_path / "out"
    ldfa.anonymize_faces(dataset, method="pixelate", out_field="anon", output_dir=out_dir,
                         progress=False)
    crash_on_second_save(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        ldfa.anonymize_faces(dataset, method="solid", out_field="anon", output_dir=out_dir,
                             overwrite=True, progress=False)
    monkeypatch.undo()  # the process restarts

    again = ldfa.anonymize_faces(dataset, method="solid", out_field="anon", output_dir=out_dir,
                                 progress=False)
    assert (again.resumed, again.written) == (1, 1)
    ldfa.anonymize_faces(dataset, method="solid", out_field="fresh", output_dir=tmp_path / "fresh",
                         progress=False)
    for sample in dataset:
        assert (pixels(sample["anon"]) == pixels(sample["fresh"])).all(), sample.filepath


def test_the_same_config_into_a_new_folder_writes_that_folder_complete(
    dataset, photo_tree, tmp_path  # noqa: F811
):
    root, png, jpg, empty = photo_tree
    add(dataset, png, FACE)
    add(dataset, empty)
    ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "one", progress=False)
    second = ldfa.anonymize_faces(dataset, method="pixelate", output_dir=tmp_path / "two",
                                  progress=False)
    assert (second.resumed, second.written, second.unchanged) == (0, 1, 1)
    assert sorted(dataset.values("anon_pixelate")) == sorted(
        str(tmp_path / "two" / p.relative_to(root)) for p in (png, empty))
    assert all(Path(p).is_file() for p in dataset.values("anon_pixelate"))
