"""Controlled LDFA and identity push-away through diffusers' real pipelines with tiny random
weights (``ldfa_testing.tiny_pipeline``: inpainting model, ControlNet, IP-Adapter): control
images from real faces, masks, per-face determinism, resume and redo, the CLI and preset, and
the one-line errors for missing weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fiftyone import ViewField as F
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.plugin.anonymization.config import CONTROLS, DEFAULT_CONTROLNETS, DEFAULT_IP_ADAPTER, AnonymizationConfig
from ldfa.plugin.anonymization.controls import MESH_COLOURS, PUPIL_COLOURS, control_image
from ldfa.plugin.anonymization.diffusion import FaceJob, Inpainter, hub_source
from ldfa.plugin.errors import ConfigError, ModelUnavailableError
from ldfa.plugin.geometry.masks import union_mask
from ldfa.plugin.io.images import read_rgb
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, face_labels

FAST = {"crop_size": 128, "num_inference_steps": 2, "context_px": 16}


def tiny(tiny_model: str, **params) -> dict:
    """Parameters that point every component at the tiny random ones."""
    return {"model": tiny_model, "ip_adapter": f"{tiny_model}/ip-adapter/ip-adapter.safetensors",
            **FAST, **params}


def controlnets(tiny_model: str, control: str) -> str:
    return ",".join(f"{tiny_model}/controlnet" for _ in control.split(","))


def test_control_images_from_real_faces(sample_photos):
    """The face mesh drawn in the MediaPipe-face ControlNet's colours around the face, pupils
    included; black where there is no face; Canny edges as a binary image."""
    image, _ = read_rgb(str(sample_photos[0]))  # the astronaut
    height, width = image.shape[:2]
    x, y, w, h = ASTRONAUT_FACE
    box = np.array([x * width, y * height, (x + w) * width, (y + h) * height])
    drawn = control_image("face_mesh", image, box)
    assert drawn.shape == image.shape
    colours = {tuple(c) for c in drawn.reshape(-1, 3)} - {(0, 0, 0)}
    assert colours <= set(MESH_COLOURS.values()) | set(PUPIL_COLOURS)
    assert set(PUPIL_COLOURS) <= colours and len(colours) >= 6  # every contour, both pupils
    ys, xs = np.nonzero(drawn.any(axis=2))
    assert box[0] - 0.2 * w * width < xs.min() and xs.max() < box[2] + 0.2 * w * width
    assert (drawn.any(axis=2).mean()) < 0.1  # lines, not areas

    noise = np.random.default_rng(0).integers(0, 255, image.shape, dtype=np.uint8)
    assert not control_image("face_mesh", noise, box).any()  # no face: no condition
    edges = control_image("canny", image, box)
    assert set(np.unique(edges)) == {0, 255} and (edges[..., 0] == edges[..., 2]).all()


@pytest.fixture
def photos(dataset, sample_photos):
    """The astronaut (PNG: every pixel outside the masks must stay bit for bit) and Grace Hopper."""
    import fiftyone as fo

    png, jpg = sample_photos
    dataset.add_samples([fo.Sample(filepath=str(png), faces=face_labels(ASTRONAUT_FACE)),
                         fo.Sample(filepath=str(jpg), faces=face_labels(HOPPER_FACE))])
    return dataset, png


@pytest.mark.parametrize("params", [
    {"control": "face_mesh"},
    {"control": "face_mesh,canny"},
    {"push_away": True, "guidance_scale": 3.0},
], ids=["face_mesh", "multi-controlnet", "push_away"])
def test_masks_respected_and_each_face_reproduced_bit_for_bit(photos, tiny_model, tmp_path, params):
    dataset, png = photos
    if "control" in params:
        params = {**params, "controlnet": controlnets(tiny_model, params["control"])}
    summary = ldfa.anonymize_faces(dataset, method="ldfa", field="a", output_dir=tmp_path / "a",
                                   progress=False, batch_size=2, **tiny(tiny_model, **params))
    assert summary.methods_applied == {"ldfa": 2}
    first = {Path(p).name: np.asarray(Image.open(p)) for p in dataset.values("a")}
    source = np.asarray(Image.open(png))
    changed = union_mask(512, 512, [ASTRONAUT_FACE], fade_px=4)
    assert (first[png.name][~changed] == source[~changed]).all()
    face = union_mask(512, 512, [ASTRONAUT_FACE])
    assert (first[png.name][face] != source[face]).mean() > 0.5

    # The same config again: bit-identical; one face per call: the same faces (seeds are per
    # face) up to float rounding of the batch.
    for field, batch in (("b", 2), ("c", 1)):
        ldfa.anonymize_faces(dataset, method="ldfa", field=field, output_dir=tmp_path / field,
                             progress=False, batch_size=batch, **tiny(tiny_model, **params))
    again = {Path(p).name: np.asarray(Image.open(p)) for p in dataset.values("b")}
    assert all((first[name] == again[name]).all() for name in first)
    single = {Path(p).name: np.asarray(Image.open(p)) for p in dataset.values("c")}
    # the PNG (re-encoding a JPEG can magnify a 1-level difference)
    assert np.abs(single[png.name].astype(int) - first[png.name]).max() <= 2
    config = dataset.get_run_info("ldfa_anonymize_a").config.serialize()["config"]["diffusion"]
    assert {k: config[k] for k in params} == params


def test_conditions_come_from_the_original_and_push_away_changes_the_face(sample_photos, tiny_model):
    """A face job's conditions are computed from its source image: the same pixels to edit with
    another original give another face. Push-away changes the result of the same guidance."""
    image, _ = read_rgb(str(sample_photos[0]))
    x1, y1, x2, y2 = 184, 41, 287, 195
    job = FaceJob(image, (x1, y1, x2, y2), np.ones((y2 - y1, x2 - x1), bool), seed=5)
    faceless = image.copy()
    faceless[y1:y2, x1:x2] = 0
    other = FaceJob(image, job.paste, job.shape, 5, source=faceless)
    for params in ({"control": "face_mesh", "controlnet": f"{tiny_model}/controlnet"},
                   {"push_away": True, "guidance_scale": 3.0}):
        inpainter = Inpainter(AnonymizationConfig.build(**tiny(tiny_model, **params)).diffusion)
        same, changed = inpainter([job, other])
        assert not (same == changed).all(), params
        assert np.abs(inpainter([job])[0].astype(int) - same).max() <= 2  # alone: the same face
    plain = Inpainter(AnonymizationConfig.build(**tiny(tiny_model, guidance_scale=3.0)).diffusion)([job])[0]
    assert not (plain == same).all()  # the last params: push_away at the same guidance


def test_resume_redo_and_identity_guard_run_unchanged(photos, tiny_model, tmp_path):
    dataset, _ = photos
    params = tiny(tiny_model, control="face_mesh", controlnet=f"{tiny_model}/controlnet",
                  push_away=True, guidance_scale=3.0)
    ldfa.anonymize_faces(dataset, method="ldfa", field="anon", output_dir=tmp_path / "o",
                         progress=False, **params)
    resumed = ldfa.anonymize_faces(dataset, method="ldfa", field="anon", output_dir=tmp_path / "o",
                                   progress=False, **params)
    assert (resumed.resumed, resumed.written) == (2, 0)
    face = dataset.first()["faces"].detections[0]
    before = np.asarray(Image.open(dataset.first()["anon"]))
    redone = ldfa.reanonymize_faces(dataset, "anon", [face.id], progress=False)
    assert redone.written == 1
    assert not (np.asarray(Image.open(dataset.first()["anon"])) == before).all()
    guard = ldfa.guard_identity(dataset, "anon", max_tries=1, progress=False)
    assert guard["checked"] == 2  # random weights: whatever it decided, it ran through ...
    attempts = dataset.values("faces.detections.anon_attempt", unwind=True)
    assert sum(attempts) == 1 + guard["redone"]  # ... and each redo it counts went through
    tagged = dataset.filter_labels("faces", F("tags").contains("needs_review")).values(
        "faces.detections.id", unwind=True)
    assert sorted(tagged) == guard["needs_review"]


def test_cli_preset_camouflage_and_errors(photos, tiny_model, tmp_path, capsys):
    dataset, _ = photos
    camouflage = AnonymizationConfig.build(preset="camouflage")
    assert camouflage.diffusion.controls == ("face_mesh",) and camouflage.diffusion.push_away
    assert camouflage.diffusion.guidance_scale > 1 and camouflage.diffusion.num_inference_steps == 50
    assert cli(["anonymize", "--dataset", dataset.name, "--method", "ldfa", "--preset", "camouflage",
                "--model", tiny_model, "--controlnet", f"{tiny_model}/controlnet", "--ip-adapter",
                f"{tiny_model}/ip-adapter/ip-adapter.safetensors", "--steps", "2", "--crop-size", "64",
                "--output-dir", str(tmp_path / "cli"), "--json"]) == 0
    recorded = dataset.get_run_info("ldfa_anonymize_anon_ldfa").config.serialize()["config"]["diffusion"]
    assert (recorded["control"], recorded["push_away"], recorded["num_inference_steps"]) == ("face_mesh", True, 2)

    # A missing ControlNet or IP-Adapter: one line, before anything is written.
    for option, value in (("--controlnet", str(tmp_path / "no-controlnet")),
                          ("--ip-adapter", str(tmp_path / "none" / "ip.safetensors"))):
        args = ["anonymize", "--dataset", dataset.name, "--method", "ldfa", "--model", tiny_model,
                "--field", "x", "--output-dir", str(tmp_path / "x"), "--control", "face_mesh",
                "--controlnet", f"{tiny_model}/controlnet", "--push-away", "--guidance-scale", "3",
                "--ip-adapter", f"{tiny_model}/ip-adapter/ip-adapter.safetensors", option, value]
        assert cli(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("ldfa: error:") and value in err and "\n" not in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="guidance_scale above 1"):
        AnonymizationConfig.build(push_away=True)
    with pytest.raises(ConfigError, match="one ControlNet per control"):
        AnonymizationConfig.build(control=["face_mesh", "canny"], controlnet=["a"])
    with pytest.raises(ModelUnavailableError):
        ldfa.anonymize_faces(dataset, method="ldfa", field="y", progress=False,
                             **tiny(tiny_model, control="canny", controlnet=str(tmp_path / "nothing")))


def test_default_weights_are_the_public_ones_and_say_how_to_get_them():
    assert set(DEFAULT_CONTROLNETS) == set(CONTROLS)
    for spec, marker in [*((s, "config.json") for s in DEFAULT_CONTROLNETS.values()),
                         (DEFAULT_IP_ADAPTER.rpartition("/")[0], DEFAULT_IP_ADAPTER.rpartition("/")[2])]:
        source, subfolder, available, why = hub_source(spec, marker)
        assert source.count("/") == 1  # a hub id; the rest is the path inside the repository
        if available:
            continue  # in this machine's Hugging Face cache
        assert spec in why and f"hf download {source}" in why and "\n" not in why
    assert hub_source("CrucibleAI/ControlNetMediaPipeFace/diffusion_sd15", "config.json")[:2] == (
        "CrucibleAI/ControlNetMediaPipeFace", "diffusion_sd15")
