"""The demo: packaged photos -> faces -> anonymized fields, with or without the diffusion model."""

import pytest

from ldfa.cli import main as cli

pytestmark = pytest.mark.slow  # each test tens of seconds: whole demo runs


def test_demo_runs_end_to_end_with_a_local_model(fo, tmp_path, tiny_model, capsys):
    assert cli(["demo", "--no-app", "--output", str(tmp_path), "--model", tiny_model]) == 0
    dataset = fo.load_dataset("ldfa-demo")
    assert len(dataset) == 2 and dataset.count("faces.detections") == 2
    for method in ("ldfa", "gauss", "pixelate", "solid"):
        assert dataset.count(f"anon_{method}") == 2, method
    printed = capsys.readouterr()
    out = printed.out  # the result; progress and messages went to stderr
    assert "skipped" not in printed.err and f"report: {tmp_path / 'report' / 'report.md'}" in out
    report = (tmp_path / "report" / "report.md").read_text()
    for row in ("| original |", "| anon_ldfa |", "| anon_solid |"):
        assert row in report
    assert (tmp_path / "report" / "identity_distance.png").stat().st_size > 0
    assert "ldfa-riskiest-anon_ldfa" in dataset.list_saved_views()
    # the App opens on the side-by-side audit: every version of each photo in one group
    audit = fo.load_dataset("ldfa-demo-audit")
    assert sorted(audit.group_slices) == ["anon_gauss", "anon_ldfa", "anon_pixelate",
                                          "anon_solid", "original"]
    assert len(audit.select_group_slices()) == 2 * 5 and "'ldfa-demo-audit'" in out


def test_demo_without_the_model_says_so_in_one_line_and_anonymizes_your_folder_too(
    fo, tmp_path, sample_photos, capsys
):
    """`--images DIR` once made every output folder 'inside the source tree': DIR is linked in as
    photos/<its name>, and every method mirrors it as anon_<method>/<its name>/..."""
    yours = tmp_path / "mine"
    (yours / "sub").mkdir(parents=True)
    (yours / "sub" / "hopper.jpg").write_bytes(sample_photos[1].read_bytes())
    output = tmp_path / "demo"
    assert cli(["demo", "--no-app", "--output", str(output), "--model", str(tmp_path / "none"),
                "--images", str(yours)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "ldfa method skipped" in line]
    assert len(lines) == 1 and "none" in lines[0]
    dataset = fo.load_dataset("ldfa-demo")
    assert not dataset.has_field("anon_ldfa") and dataset.count("anon_pixelate") == 3
    written = output / "anon_pixelate" / "mine" / "sub" / "hopper.jpg"
    assert str(written) in dataset.values("anon_pixelate")
    assert (yours / "sub" / "hopper.jpg").read_bytes() == sample_photos[1].read_bytes()
