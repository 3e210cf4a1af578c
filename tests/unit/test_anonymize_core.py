"""The anonymization core on its own (``faces.py``): tasks in, files and per-face facts out, no
database. What every method must keep (pixels outside the masks, whole boxes, modes, batches)
is the method contract's (``test_method_contract.py``); here, what the core decides and records."""

import os

import numpy as np
import pytest
from PIL import Image

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import (
    FaceTask,
    ImagePlan,
    ImageTask,
    anonymize_images,
    face_seed,
    plan_faces,
    render,
)
from ldfa.plugin.geometry.masks import face_region, union_mask

W, H = 100, 80
LEFT, RIGHT = (0.1, 0.2, 0.3, 0.4), (0.6, 0.3, 0.25, 0.3)  # 30 x 32 and 25 x 24 px, 20 px apart


def noise(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 256, (H, W, 3), dtype=np.uint8)


def photo(folder, name="in.png", pixels=None) -> str:
    path = folder / name
    Image.fromarray(noise() if pixels is None else pixels).save(path)
    return str(path)


def faces(*boxes, attempt=0) -> tuple[FaceTask, ...]:
    """Faces named "0", "1", ... at these relative boxes."""
    return tuple(FaceTask(str(i), box, attempt) for i, box in enumerate(boxes))


def run(tasks, **params) -> dict:
    """The core's results by sample id, with the config ``params`` build."""
    return {r.sample_id: r for r in anonymize_images(tasks, AnonymizationConfig.build(**params), None)}


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_a_task_with_faces_writes_its_target_and_each_faces_facts(tmp_path):
    source = photo(tmp_path)
    target = tmp_path / "out" / "deep" / "in.png"  # folders that do not exist yet
    task = ImageTask("s", source, str(target), (FaceTask("a", LEFT), FaceTask("b", RIGHT, attempt=2)))
    result = run([task], method="pixelate", seed=5)["s"]
    assert (result.error, result.unchanged, result.target) == (None, False, str(target))
    assert result.facts == {
        "a": {"seed": face_seed(5, "s", LEFT, 0), "method": "pixelate", "skipped": None, "attempt": 0, "kind": "face"},
        "b": {"seed": face_seed(5, "s", RIGHT, 2), "method": "pixelate", "skipped": None, "attempt": 2,
              "kind": "face"}}
    assert result.faces_digest == task.faces_digest is not None
    again = ImageTask("s", source, str(target), (FaceTask("a", LEFT), FaceTask("b", RIGHT)))
    assert again.faces_digest != task.faces_digest, "another attempt is another image"
    before, after = pixels(source), pixels(target)
    mask = union_mask(W, H, [LEFT, RIGHT], fade_px=AnonymizationConfig().mask_blur_px)
    assert (after[~mask] == before[~mask]).all() and (after[mask] != before[mask]).any(-1).mean() > 0.5
    assert os.listdir(target.parent) == ["in.png"], "no temporary file is left beside it"


def test_each_image_is_handed_over_as_soon_as_its_file_is_complete(tmp_path):
    """A run resumes image by image: the first result comes while the second is unwritten."""
    tasks = [ImageTask(n, photo(tmp_path), str(tmp_path / f"{n}.png"), faces(LEFT)) for n in "ab"]
    results = anonymize_images(tasks, AnonymizationConfig.build(method="solid"), None)
    assert next(results).sample_id == "a"
    assert pixels(tmp_path / "a.png").shape == (H, W, 3) and not (tmp_path / "b.png").exists()
    assert next(results).sample_id == "b" and (tmp_path / "b.png").exists()


@pytest.mark.parametrize("link", [False, True])
def test_an_image_without_faces_is_copied_unchanged(tmp_path, link):
    source = photo(tmp_path)
    task = ImageTask("s", source, str(tmp_path / "out.png"), ())
    result = run([task], method="solid", link_unchanged=link)["s"]
    assert (result.error, result.unchanged, result.facts) == (None, True, {})
    assert result.faces_digest == task.faces_digest is not None
    assert open(result.target, "rb").read() == open(source, "rb").read()
    assert os.path.samefile(source, result.target) == link


def test_what_cannot_be_anonymized_is_a_result_with_its_reason(tmp_path):
    """Bad input never stops a batch: each gets its reason, the rest are written."""
    good = photo(tmp_path)
    (tmp_path / "text.png").write_bytes(b"not an image")
    tasks = [ImageTask("undetected", good, str(tmp_path / "1.png"), None),
             ImageTask("unreadable", str(tmp_path / "text.png"), str(tmp_path / "2.png"), faces(LEFT)),
             ImageTask("missing", str(tmp_path / "gone.png"), str(tmp_path / "3.png"), faces(LEFT)),
             ImageTask("no source", good, str(tmp_path / "4.png"), faces(LEFT), redo=frozenset("0")),
             ImageTask("good", good, str(tmp_path / "5.png"), faces(LEFT))]
    results = run(tasks, method="solid")
    reasons = {name: r.error for name, r in results.items() if r.target is None}
    assert reasons == {"undetected": "no face detection for this image (its detection failed or never ran)",
                       "unreadable": "not an image file PIL can read", "missing": "file not found",
                       "no source": "no anonymized image to redo faces in"}
    assert results["good"].error is None
    assert sorted(os.listdir(tmp_path)) == ["5.png", "in.png", "text.png"]


def test_a_write_that_fails_is_a_result_and_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"the previous version")

    def disk_full(image, f, **options):
        f.write(b"half an image")
        raise OSError("No space left on device")

    task = ImageTask("s", photo(tmp_path), str(target), faces(LEFT))
    monkeypatch.setattr(Image.Image, "save", disk_full)
    result = run([task], method="solid")["s"]
    assert result.target is None and "No space left on device" in result.error
    assert target.read_bytes() == b"the previous version"
    assert sorted(os.listdir(tmp_path)) == ["in.png", "out.png"]


def test_a_redo_recomputes_only_the_chosen_face_from_the_previous_version(tmp_path):
    """The reviewer's redo: the previous output is the source, only face "1" is painted again
    (gauss blurs it once more), the other keeps the previous version's pixels exactly."""
    original = photo(tmp_path)
    first = run([ImageTask("s", original, str(tmp_path / "v1.png"), faces(LEFT, RIGHT))], method="gauss")
    assert first["s"].error is None
    redo = ImageTask("s", original, str(tmp_path / "v2.png"), (FaceTask("0", LEFT), FaceTask("1", RIGHT, 1)),
                     source=str(tmp_path / "v1.png"), redo=frozenset({"1"}))
    result = run([redo], method="gauss")["s"]
    assert list(result.facts) == ["1"] and result.facts["1"]["attempt"] == 1
    v1, v2 = pixels(tmp_path / "v1.png"), pixels(tmp_path / "v2.png")
    redone = union_mask(W, H, [RIGHT], fade_px=AnonymizationConfig().mask_blur_px)
    assert (v2[~redone] == v1[~redone]).all()
    x1, y1, x2, y2 = face_region(W, H, RIGHT)
    assert (v2[y1:y2, x1:x2] != v1[y1:y2, x1:x2]).any(-1).mean() > 0.5


def test_a_face_outside_the_image_is_skipped_with_its_reason(tmp_path):
    """A box beyond the right edge (every side: ``test_geometry.py``) is recorded, not a crash."""
    source = photo(tmp_path)
    result = run([ImageTask("s", source, str(tmp_path / "out.png"), faces((1.2, 0.1, 0.1, 0.1), LEFT))],
                 method="solid")["s"]
    assert result.facts["0"]["method"] is None
    assert result.facts["0"]["skipped"] == "face box lies outside the image"
    assert result.facts["1"]["method"] == "solid"
    unchanged = ~union_mask(W, H, [LEFT], fade_px=AnonymizationConfig().mask_blur_px)
    assert (pixels(result.target)[unchanged] == pixels(source)[unchanged]).all()


@pytest.mark.parametrize("fallback", ["pixelate", "solid"])
def test_a_face_under_min_face_px_gets_the_fallback_and_says_why(tmp_path, fallback):
    small = (0.8, 0.05, 0.1, 0.125)  # 10 x 10 px
    result = run([ImageTask("s", photo(tmp_path), str(tmp_path / "out.png"), faces(LEFT, small))],
                 method="solid", fill_color=(0, 0, 0), min_face_px=20, fallback=fallback)["s"]
    assert (result.facts["0"]["method"], result.facts["0"]["skipped"]) == ("solid", None)
    if fallback == "solid":  # the method itself: nothing to say
        assert (result.facts["1"]["method"], result.facts["1"]["skipped"]) == ("solid", None)
    else:
        assert result.facts["1"]["method"] == "pixelate"
        assert result.facts["1"]["skipped"] == "face 10px < min_face_px 20: pixelate instead of solid"
        out = pixels(result.target)
        assert (out[4:14, 80:90] != 0).any(), "pixelated, not filled"


def plans(boxes, attempt=0, **params):
    task = ImageTask("s", "in.png", "out.png", faces(*boxes, attempt=attempt))
    return plan_faces(task, noise(), AnonymizationConfig.build(**params))


def test_a_plan_clips_the_paste_region_at_the_border_and_names_each_faces_method():
    corner, edge = (-0.05, -0.1, 0.2, 0.25), (0.9, 0.5, 0.2, 0.25)  # over the top-left, over the right
    inner, top_left, right = plans([LEFT, corner, edge], method="gauss", mask_blur_px=4)
    assert (inner.region, inner.paste) == ((10, 16, 40, 48), (6, 12, 44, 52))  # a 4 px ring
    assert (top_left.region, top_left.paste) == ((0, 0, 15, 12), (0, 0, 19, 16))
    assert (right.region, right.paste) == ((90, 40, 100, 60), (86, 36, 100, 64))
    for plan in (inner, top_left, right):
        x1, y1, x2, y2 = plan.paste
        assert plan.shape.shape == (y2 - y1, x2 - x1)
        assert plan.shape.sum() == (plan.region[2] - plan.region[0]) * (plan.region[3] - plan.region[1])
        assert (plan.method, plan.skipped) == ("gauss", None)
    assert [p.size for p in (inner, top_left, right)] == [30, 12, 10]


def test_a_faces_seed_is_kept_for_its_box_and_attempt_and_changes_with_either():
    [alone] = plans([LEFT])
    _, among_others = plans([RIGHT, LEFT])  # another face detected before it
    assert alone.seed(0, "s") == among_others.seed(0, "s")
    [retried] = plans([LEFT], attempt=1)
    [moved] = plans([(0.11, 0.2, 0.3, 0.4)])
    seeds = {alone.seed(0, "s"), retried.seed(0, "s"), moved.seed(0, "s"), alone.seed(1, "s"),
             alone.seed(0, "t")}
    assert len(seeds) == 5, "another attempt, box, run seed or image: another seed"


def test_render_replaces_the_face_whole_blends_its_ring_and_masks_what_changed():
    """Solid black on flat grey: the box is black, the ring fades from dark to the grey, and the
    mask is exactly the pixels that changed."""
    grey = np.full((H, W, 3), 200, dtype=np.uint8)
    config = AnonymizationConfig.build(method="solid", fill_color=(0, 0, 0), mask_blur_px=4)
    task = ImageTask("s", "in.png", "out.png", faces(LEFT))
    item = ImagePlan(task, grey, "in.png", 1, plan_faces(task, grey, config))
    [(out, mask)] = render([item], config, None)
    assert out.shape == grey.shape and out.dtype == np.uint8
    x1, y1, x2, y2 = face_region(W, H, LEFT)
    assert (out[y1:y2, x1:x2] == 0).all()
    ring = out[y1 - 5 : y1, (x1 + x2) // 2, 0].tolist()  # the column above the box, outermost first
    assert ring[::-1] == sorted(ring[::-1]) and ring[0] == 200 and 0 < ring[-1] < 200
    assert (mask == (out != 200).any(-1)).all()
    assert (grey == 200).all(), "the input is not painted in place"


def test_a_plate_is_replaced_whole_in_its_grown_box_by_the_plate_method(tmp_path):
    """A licence plate's tight box grows by ``plate_grow`` (a face's by ``mask_grow``), every pixel
    of the grown box is the plate method's, and its facts say it is a plate."""
    source = photo(tmp_path)
    target = tmp_path / "out.png"
    plate = FaceTask("p", RIGHT, kind="plate")
    result = run([ImageTask("s", source, str(target), (FaceTask("a", LEFT), plate))],
                 method="pixelate", plate_method="solid", plate_grow=1.5, mask_blur_px=0)["s"]
    assert result.facts["p"] == {"seed": face_seed(0, "s", RIGHT, 0), "method": "solid", "skipped": None,
                                 "attempt": 0, "kind": "plate"}
    assert result.facts["a"]["method"] == "pixelate"
    out, original = pixels(target), noise()
    x1, y1, x2, y2 = face_region(W, H, RIGHT, 1.5)
    assert (x2 - x1, y2 - y1) == (39, 36)  # 25 x 24 px grown 1.5 times, rounded outward
    assert (out[y1:y2, x1:x2] == 0).all()  # solid's black, the grown box whole
    changed = (out != original).any(axis=2)
    allowed = union_mask(W, H, [LEFT]) | union_mask(W, H, [RIGHT], grow=1.5)
    assert not changed[~allowed].any()


def test_a_diffusing_run_gives_its_plates_the_synthetic_plate_and_a_classic_run_its_own_method():
    assert AnonymizationConfig.build(method="ldfa").plates_method == "plate"
    assert AnonymizationConfig.build(method="gauss").plates_method == "gauss"
    assert AnonymizationConfig.build(method="gauss", plate_method="solid").plates_method == "solid"


def test_a_seeded_method_draws_with_each_plates_own_seed(tmp_path):
    """The synthetic plate draws its characters with the plate's seed: the same plate (box and
    attempt, or track) gets the same new plate on every run, a redone one (attempt + 1) another."""
    source = photo(tmp_path)

    def painted(attempt: int, name: str) -> np.ndarray:
        target = tmp_path / f"{name}.png"
        run([ImageTask("s", source, str(target), (FaceTask("p", RIGHT, attempt, kind="plate"),))],
            method="gauss", plate_method="plate")
        return pixels(target)

    first, again, redone = painted(0, "first"), painted(0, "again"), painted(1, "redone")
    assert (first == again).all()
    assert (first != redone).any()
