"""The LDFA diffusion path end to end, through diffusers' real StableDiffusionInpaintPipeline
with tiny random weights (``ldfa_testing.tiny_pipeline``): masks, border faces, every face of a street
frame however small, determinism, batching, the out-of-memory fallback, re-anonymizing single
faces, the paper preset and the missing-model error."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.cli import main as cli
from ldfa.plugin.anonymization.config import DEFAULT_MODEL, PAPER, AnonymizationConfig
from ldfa.plugin.anonymization.diffusion import Inpainter, model_available
from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.geometry.masks import union_mask

CENTRE_FACE = [0.4, 0.3, 0.2, 0.3]
CORNER_FACE = [0.85, -0.1, 0.2, 0.3]  # over the top-right corner
# Small and few steps: the tiny model at 64 px crops costs well under a second per batch.
FAST = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}


@pytest.fixture
def street(dataset, tmp_path):
    """Three textured PNGs: two faces (one across a corner), one face, none."""
    import fiftyone as fo

    rng = np.random.default_rng(7)
    root = tmp_path / "street"
    root.mkdir()
    layout = {"a.png": [CENTRE_FACE, CORNER_FACE], "b.png": [[0.1, 0.5, 0.3, 0.4]], "c.png": []}
    for name, boxes in layout.items():
        gradient = np.linspace(0, 200, 160, dtype=np.float64)[None, :, None]
        pixels = np.clip(gradient + rng.normal(0, 20, (120, 160, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / name)
        dets = [fo.Detection(label="face", bounding_box=b, confidence=0.9) for b in boxes]
        dataset.add_sample(fo.Sample(filepath=str(root / name), faces=fo.Detections(detections=dets)))
    return dataset, root, layout


def outputs(dataset, field):
    return {Path(p).name: np.asarray(Image.open(p)) for p in dataset.values(field)}


def test_ldfa_changes_only_the_masks_reproduces_bit_for_bit_and_batches_like_single_faces(
    street, tiny_model, tmp_path, capsys
):
    dataset, root, layout = street
    summary = ldfa.anonymize_faces(dataset, method="ldfa", field="anon", output_dir=tmp_path / "o1",
                                   model=tiny_model, batch_size=4, progress=False, **FAST)
    assert (summary.written, summary.unchanged, summary.methods_applied) == (2, 1, {"ldfa": 3})
    first = outputs(dataset, "anon")
    for name, boxes in layout.items():
        source = np.asarray(Image.open(root / name))
        changed = union_mask(160, 120, boxes, fade_px=4)  # the faces and their blend rings
        assert (first[name][~changed] == source[~changed]).all(), name
        if boxes:
            mask = union_mask(160, 120, boxes)
            assert (first[name][mask] != source[mask]).mean() > 0.5, name
    # The corner face is painted up to the image's edges: its geometry survived the clipping.
    corner = union_mask(160, 120, [CORNER_FACE])
    source_row = np.asarray(Image.open(root / "a.png"))[0, -8:]
    assert corner[0, -1] and (first["a.png"][0, -8:] != source_row).any(axis=-1).all()

    dets = dataset.match({"filepath": str(root / "a.png")}).first()["faces"].detections
    assert [d["anon_method"] for d in dets] == ["ldfa", "ldfa"]
    assert [d["anon_skipped"] for d in dets] == [None, None]
    run = dataset.get_run_info("ldfa_anonymize_anon").config.serialize()
    assert (run["device"], run["dtype"]) == ("cpu", "float32")
    config = run["config"]
    diffusion = config["diffusion"]
    assert (diffusion["model"], diffusion["num_inference_steps"], diffusion["crop_size"]) == (tiny_model, 2, 64)
    assert (diffusion["device"], diffusion["strength"], diffusion["guidance_scale"]) == (None, 0.75, 1.0)

    # Same config again, through the CLI, into another field: bit-identical files.
    assert cli(["anonymize", "--dataset", dataset.name, "--method", "ldfa", "--field", "again",
                "--output-dir", str(tmp_path / "o2"), "--model", tiny_model, "--steps", "2",
                "--crop-size", "64", "--context-px", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["methods_applied"] == {"ldfa": 3}
    assert all((outputs(dataset, "again")[n] == first[n]).all() for n in layout)

    # One face per pipeline call gives the same faces (up to float rounding of the batch).
    ldfa.anonymize_faces(dataset, method="ldfa", field="single", output_dir=tmp_path / "o3",
                         model=tiny_model, batch_size=1, progress=False, **FAST)
    single = outputs(dataset, "single")
    for name in layout:
        assert np.abs(single[name].astype(int) - first[name]).max() <= 2, name


def test_reanonymize_changes_only_the_chosen_face_with_a_new_seed(street, tiny_model, tmp_path):
    dataset, root, layout = street
    ldfa.anonymize_faces(dataset, method="ldfa", field="anon", output_dir=tmp_path / "out",
                         model=tiny_model, progress=False, **FAST)
    sample = dataset.match({"filepath": str(root / "a.png")}).first()
    centre, corner = sample["faces"].detections
    before = np.asarray(Image.open(sample["anon"]))

    summary = ldfa.reanonymize_faces(dataset, "anon", [centre.id], progress=False)
    assert (summary.written, summary.faces) == (1, 1)
    after = np.asarray(Image.open(sample["anon"]))
    centre_mask = union_mask(160, 120, [CENTRE_FACE])
    ring = union_mask(160, 120, [CENTRE_FACE], fade_px=4)
    assert (after[~ring] == before[~ring]).all()
    assert (after[centre_mask] != before[centre_mask]).mean() > 0.5

    centre2, corner2 = dataset.match({"filepath": str(root / "a.png")}).first()["faces"].detections
    assert (centre2["anon_attempt"], corner2["anon_attempt"]) == (1, 0)
    assert centre2["anon_seed"] != centre["anon_seed"] and corner2["anon_seed"] == corner["anon_seed"]
    # Other samples are not touched.
    b = dataset.match({"filepath": str(root / "b.png")}).first()
    assert b["faces"].detections[0]["anon_attempt"] == 0


def test_missing_model_fails_in_one_line_before_anything_is_written(street, tmp_path, capsys):
    dataset, _, _ = street
    for model in (str(tmp_path / "no-such-model"), str(tmp_path / "weights.safetensors")):
        with pytest.raises(ModelUnavailableError) as error:
            ldfa.anonymize_faces(dataset, method="ldfa", field="anon", output_dir=tmp_path / "out",
                                 model=model, progress=False, **FAST)
        message = str(error.value)
        assert model in message and "\n" not in message
    assert not (tmp_path / "out").exists()
    assert not dataset.has_field("anon") and not dataset.has_run("ldfa_anonymize_anon")

    assert cli(["anonymize", "--dataset", dataset.name, "--method", "ldfa", "--model",
                str(tmp_path / "nothing"), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ldfa: error:") and "nothing" in err and "\n" not in err

    available, line = model_available(DEFAULT_MODEL)
    if available:
        pytest.skip(f"{DEFAULT_MODEL} is in this machine's Hugging Face cache")
    assert DEFAULT_MODEL in line and "--model /path/to/folder" in line and "\n" not in line


def test_model_available_for_local_folders(tiny_model, tmp_path):
    assert model_available(tiny_model)[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert model_available(str(empty)) == (False, f"{empty} is not a diffusers model folder (model_index.json)")


def test_paper_preset_is_the_published_procedure_and_explicit_params_win(tiny_model):
    paper = AnonymizationConfig.build(preset="paper")
    diffusion = paper.diffusion
    assert (diffusion.context_px, diffusion.crop_size, diffusion.num_inference_steps) == (32, 512, 50)
    assert (diffusion.prompt, diffusion.negative_prompt, diffusion.guidance_scale) == ("", "", 1.0)
    assert (diffusion.strength, paper.mask_blur_px, diffusion.model) == (0.75, 4, DEFAULT_MODEL)
    assert (diffusion.scheduler, paper.min_face_px) == ("EulerDiscreteScheduler", 0)  # every face
    assert AnonymizationConfig.build().diffusion.scheduler == "EulerDiscreteScheduler"  # ldfa's default too
    pipe = Inpainter(AnonymizationConfig.build(preset="paper", model=tiny_model).diffusion).pipeline
    assert type(pipe.scheduler).__name__ == "EulerDiscreteScheduler"
    recorded = paper.to_dict()
    flat = {**recorded, **recorded.pop("diffusion")}
    assert {k: v for k, v in flat.items() if k in PAPER} == PAPER
    assert AnonymizationConfig.build(**paper.to_dict()) == paper  # a recorded run rebuilds itself
    fewer = AnonymizationConfig.build(preset="paper", num_inference_steps=3)
    assert fewer.diffusion.num_inference_steps == 3 and fewer.digest() != paper.digest()
    assert json.dumps(paper.to_dict())  # serialisable as the run record


def test_every_face_of_a_street_frame_is_diffused_however_small(
    dataset, shared_data, tiny_model, tmp_path, monkeypatch
):
    """pedestron_2.png: a 2048x1024 Cityscapes frame whose 8 labelled faces are 5-15 px. The
    paper diffuses every face, the smallest included; so does ldfa, each face box replaced
    whole (through the tiny pipeline: its "faces" are noise), each cut as a square with
    context inside the frame, so nothing is stretched on the model's square canvas."""
    import fiftyone as fo

    from ldfa.plugin.anonymization import diffusion

    crops = []
    real_crop = diffusion.square_crop

    def recorded(image, left, top, size):
        crops.append((left, top, size))
        return real_crop(image, left, top, size)

    monkeypatch.setattr(diffusion, "square_crop", recorded)

    street = shared_data / "street-faces"
    coco = json.loads((street / "faces_coco.json").read_text())
    image = next(im for im in coco["images"] if im["file_name"].endswith("pedestron_2.png"))
    w, h = image["width"], image["height"]
    boxes = [[a["bbox"][0] / w, a["bbox"][1] / h, a["bbox"][2] / w, a["bbox"][3] / h]
             for a in coco["annotations"] if a["image_id"] == image["id"]]
    assert len(boxes) == 8 and min(min(a["bbox"][2:]) for a in coco["annotations"]
                                   if a["image_id"] == image["id"]) < 10
    dataset.add_sample(fo.Sample(filepath=str(street / image["file_name"]), faces=fo.Detections(
        detections=[fo.Detection(label="face", bounding_box=b) for b in boxes])))
    summary = ldfa.anonymize_faces(dataset, method="ldfa", field="anon", progress=False,
                                   output_dir=tmp_path / "out", model=tiny_model, **FAST)
    assert summary.methods_applied == {"ldfa": 8}
    assert dataset.values("faces.detections.anon_skipped", unwind=True) == [None] * 8
    source = np.asarray(Image.open(street / image["file_name"]).convert("RGB"))
    out = np.asarray(Image.open(dataset.first()["anon"]).convert("RGB"))
    for box in boxes:
        mask = union_mask(w, h, [box])
        assert (out[mask] != source[mask]).any(axis=-1).mean() > 0.9, box
    changed = union_mask(w, h, boxes, fade_px=4)
    assert (out[~changed] == source[~changed]).all()
    assert len(crops) == 8
    for left, top, size in crops:  # the face plus 8 px of context on each side, in the frame
        assert 0 <= left <= w - size and 0 <= top <= h - size and size >= 16 + 5


def test_faces_that_do_not_fit_in_memory_are_retried_alone_then_fall_back_saying_why(
    street, tiny_model, tmp_path, monkeypatch
):
    import torch

    from ldfa.plugin.anonymization.diffusion import Inpainter

    dataset, _, _ = street
    real_batch = Inpainter._batch

    def batches_of_one_only(self, jobs):
        if len(jobs) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_batch(self, jobs)

    monkeypatch.setattr(Inpainter, "_batch", batches_of_one_only)
    summary = ldfa.anonymize_faces(dataset, method="ldfa", field="alone", progress=False,
                                   output_dir=tmp_path / "alone", model=tiny_model, batch_size=4, **FAST)
    assert summary.methods_applied == {"ldfa": 3}

    def never(self, jobs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Inpainter, "_batch", never)
    summary = ldfa.anonymize_faces(dataset, method="ldfa", field="none", progress=False,
                                   output_dir=tmp_path / "none", model=tiny_model, **FAST)
    assert summary.methods_applied == {"pixelate": 3}
    reasons = dataset.values("faces.detections.none_skipped", unwind=True)
    assert all(r.startswith("diffusion could not run: CUDA out of memory") and
               r.endswith("pixelate instead") for r in reasons)
