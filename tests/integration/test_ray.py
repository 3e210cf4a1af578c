"""The Ray engine: on one Ray node and on a simulated two-node cluster, the same labels, files
and per-face facts as the local engine; a worker killed mid-batch loses nothing; a stopped driver
resumes; a bad image is a recorded failure."""

from __future__ import annotations

import hashlib
import os
import signal

import numpy as np
import pytest
from PIL import Image

import ldfa
from ldfa.plugin.guard.step import anonymize_then_guard
from ldfa_testing.photos import ASTRONAUT_FACE, HOPPER_FACE, face_labels

pytestmark = pytest.mark.slow  # a Ray cluster starts for each topology
FAST = {"crop_size": 64, "num_inference_steps": 2, "context_px": 8}  # the tiny model, quickly
FACTS = ("seed", "method", "skipped", "attempt")


@pytest.fixture(scope="module", params=["one node", "two nodes"])
def cluster(request):
    """Ray with 2 CPUs: one node, or two nodes of one CPU each (so two workers must run on
    different nodes); the Ray engine joins whichever is running."""
    import ray

    if request.param == "one node":
        # address="local": a cluster of its own, never one another run left beside it
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield request.param
        ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, log_to_driver=False)
    yield request.param
    ray.shutdown()
    nodes.shutdown()


@pytest.fixture
def photos(dataset, sample_photos, tmp_path):
    """Eight images with faces: the two packaged photos as they are, mirrored, enlarged and
    both, each with its face box."""
    import fiftyone as fo

    folder = tmp_path / "photos"
    folder.mkdir()
    for path, box in zip(sample_photos, (ASTRONAUT_FACE, HOPPER_FACE)):
        image = Image.open(path).convert("RGB")
        x, y, w, h = box
        for name, variant, face in (
                ("as_is", image, box), ("mirrored", image.transpose(Image.FLIP_LEFT_RIGHT), (1 - x - w, y, w, h)),
                ("large", image.resize((image.width * 2, image.height * 2)), box),
                ("large_mirrored", image.transpose(Image.FLIP_LEFT_RIGHT).resize(
                    (image.width * 2, image.height * 2)), (1 - x - w, y, w, h))):
            target = folder / f"{path.stem}_{name}.png"
            variant.save(target)
            dataset.add_sample(fo.Sample(filepath=str(target), faces=face_labels(face)))
    return dataset


def digests(dataset, field) -> list[str]:
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in dataset.values(field)]


def facts(dataset, field) -> list:
    return [dataset.values(f"faces.detections.{field}_{name}", unwind=True) for name in FACTS]


def labels(dataset, field) -> list:
    return [(d.bounding_box, d.confidence, d.source, d.small, d["landmarks"])
            for d in dataset.values(f"{field}.detections", unwind=True)]


def test_ray_gives_the_local_engines_labels_files_and_facts(cluster, photos, tiny_model, tmp_path):
    ldfa.detect_faces(photos, label_field="found_here", progress=False)
    found = ldfa.detect_faces(photos, label_field="found_on_ray", progress=False,
                              engine={"engine": "ray", "workers": 2})
    assert found.failed == 0 and labels(photos, "found_on_ray") == labels(photos, "found_here")
    assert photos.get_run_info("ldfa_detect_found_on_ray").config.engine["engine"] == "ray"

    camouflage = {"preset": "camouflage", "controlnet": f"{tiny_model}/controlnet", "guidance_scale": 3.0,
                  "ip_adapter": f"{tiny_model}/ip-adapter/ip-adapter.safetensors"}
    for name, method, params in (("gauss", "gauss", {}), ("ldfa", "ldfa", {"model": tiny_model, **FAST}),
                                 ("camouflage", "ldfa", {"model": tiny_model, **FAST, **camouflage})):
        ldfa.anonymize_faces(photos, method=method, field=f"{name}_here", progress=False,
                             output_dir=tmp_path / f"{name}_here", **params)
        summary = ldfa.anonymize_faces(photos, method=method, field=f"{name}_ray", progress=False,
                                       output_dir=tmp_path / f"{name}_ray", engine="ray", **params)
        assert (summary.written, summary.failed, summary.faces) == (8, 0, 8), name
        assert digests(photos, f"{name}_ray") == digests(photos, f"{name}_here"), name
        assert facts(photos, f"{name}_ray") == facts(photos, f"{name}_here"), name

    here = ldfa.compute_identity_distance(photos, "gauss_here", embedders=["dlib"], progress=False)
    on_ray = ldfa.compute_identity_distance(photos, "gauss_ray", embedders=["dlib"], progress=False,
                                            engine="ray")
    assert on_ray["dlib"]["mean"] == pytest.approx(here["dlib"]["mean"], abs=1e-9)
    assert photos.values("faces.detections.gauss_ray_dlib_dist", unwind=True) == pytest.approx(
        photos.values("faces.detections.gauss_here_dlib_dist", unwind=True), abs=1e-9)


def test_residual_attributes_and_detection_on_ray_equal_local(cluster, photos, tmp_path):
    """Every metric's per-image judge runs on the workers: the same figures, per-face values,
    reasons (an image never written gets one) and detections as in this process."""
    import fiftyone as fo

    from ldfa.plugin.engines.config import EngineConfig

    ldfa.anonymize_faces(photos, method="gauss", field="gauss", progress=False, output_dir=tmp_path / "gauss")
    photos.add_sample(fo.Sample(filepath=photos.first().filepath, faces=face_labels(HOPPER_FACE),
                                gauss=str(tmp_path / "never_written.png")))
    metrics = (ldfa.compute_residual_similarity, ldfa.compute_attribute_differences, ldfa.evaluate_face_detection)

    def per_face() -> dict:
        return {name: photos.values(f"faces.detections.gauss_{name}", unwind=True) for name in (
            "residual", "residual_reason", "pose_diff_deg", "landmark_nme", "attributes_reason",
            "detection_reason")} | {"found": [(d.bounding_box, d.confidence) for d in
                                              photos.values("gauss_det.detections", unwind=True)]}

    here = [metric(photos, "gauss", progress=False) for metric in metrics]
    faces_here = per_face()
    assert faces_here["residual_reason"][-1].startswith("no anonymized image (file not found)")
    assert here[1]["measured"] and here[2]["faces_left_out"] == 1 and faces_here["found"]  # mesh: 2 of 8
    on_ray = [metric(photos, "gauss", progress=False, engine=engine) for metric, engine in
              zip(metrics, ("ray", {"engine": "ray", "workers": 2}, EngineConfig("ray")))]
    assert on_ray == here and per_face() == faces_here


@pytest.fixture
def many_images(dataset, tmp_path):
    """32 textured 768-px images with a face box each: four batches of work, a few seconds each."""
    import fiftyone as fo

    rng = np.random.default_rng(3)
    (tmp_path / "many").mkdir()
    for n in range(32):
        path = tmp_path / "many" / f"frame_{n:02d}.png"
        Image.fromarray(rng.integers(0, 256, (768, 768, 3), dtype=np.uint8)).save(path)
        box = (*rng.uniform(0.1, 0.6, 2), 0.2, 0.25)
        dataset.add_sample(fo.Sample(filepath=str(path), faces=face_labels(box)))
    return dataset


def test_a_worker_killed_mid_batch_loses_nothing_and_writes_nothing_twice(cluster, many_images, tmp_path):
    import psutil

    killed = []

    def kill_every_worker(fraction, label):
        """At the first result, kill every worker process: those mid-batch lose their batch."""
        if killed:
            return
        for process in psutil.process_iter(["cmdline"]):
            if "MapWorker" in " ".join(process.info["cmdline"] or []):
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)

    ldfa.anonymize_faces(many_images, method="pixelate", field="here", progress=False,
                         output_dir=tmp_path / "here")
    summary = ldfa.anonymize_faces(many_images, method="pixelate", field="ray", progress=kill_every_worker,
                                   output_dir=tmp_path / "ray", engine={"engine": "ray", "workers": 2})
    assert killed, "no worker process was found to kill"
    assert (summary.images, summary.written, summary.failed, summary.faces) == (32, 32, 0, 32)
    assert digests(many_images, "ray") == digests(many_images, "here")
    assert facts(many_images, "ray") == facts(many_images, "here")
    leftovers = [p for p in (tmp_path / "ray").rglob("*") if p.name.startswith(".")]
    assert leftovers == [], "a killed worker left a temporary file behind"


def test_a_missing_model_on_the_workers_is_the_same_one_line_error(cluster, photos, tmp_path):
    with pytest.raises(ldfa.LdfaError, match="diffusion model folder not found: /nowhere"):
        ldfa.anonymize_faces(photos, method="ldfa", model="/nowhere/model", progress=False,
                             output_dir=tmp_path / "out", engine="ray")
    assert not np.any([p.is_file() for p in (tmp_path / "out").rglob("*")])


def test_on_ray_a_stopped_run_resumes_a_bad_image_is_a_failure_and_the_guard_runs(cluster, photos, tmp_path):
    import fiftyone as fo

    broken = tmp_path / "photos" / "broken.png"
    broken.write_bytes(b"not a PNG")
    photos.add_sample(fo.Sample(filepath=str(broken), faces=face_labels(HOPPER_FACE)))
    view = photos.sort_by("filepath")  # the broken image among the first batch of work
    here = anonymize_then_guard(view, method="gauss", field="here", progress=False,
                                output_dir=tmp_path / "here", identity_guard=1)

    def stop_the_driver(fraction, label):
        if fraction > 0:
            raise KeyboardInterrupt  # as Ctrl-C on the driver, once its first results are in

    with pytest.raises(KeyboardInterrupt):
        anonymize_then_guard(view, method="gauss", field="ray", progress=stop_the_driver,
                             output_dir=tmp_path / "ray", engine="ray", identity_guard=1)
    stopped_after = len(view.exists("ray"))
    assert stopped_after < 8, "the driver was stopped after the whole run"
    summary = anonymize_then_guard(view, method="gauss", field="ray", progress=False,
                                   output_dir=tmp_path / "ray", engine="ray", identity_guard=1)
    assert (summary.resumed, summary.written + summary.resumed, summary.failed) == (stopped_after, 8, 1)
    assert summary.failures[0]["filepath"] == str(broken)
    assert digests(view.exists("ray"), "ray") == digests(view.exists("here"), "here")
    assert facts(view, "ray") == facts(view, "here")
    assert summary.identity_guard == here.identity_guard and here.identity_guard["checked"] == 9
    assert [p for p in (tmp_path / "ray").rglob("*") if p.name.startswith(".")] == []


@pytest.fixture
def two_videos(dataset, tmp_path):
    """A video dataset of two short clips with faces: walkway's first 4 frames at half size and
    hamilton's first 4 (another size, rate and scene)."""
    import fiftyone as fo

    from ldfa.plugin.io.video import probe
    from ldfa_testing.videos import cut, shared_clip

    (tmp_path / "videos").mkdir()
    for name, scale in (("walkway.mp4", 0.5), ("hamilton.mp4", 1.0)):
        clip = cut(shared_clip(name), tmp_path / "videos" / name, 4, scale)
        dataset.add_sample(fo.Sample(filepath=str(clip), metadata=fo.VideoMetadata(**probe(clip).metadata())))
    return dataset


def tracks(videos, field) -> list:
    """Each video's faces per frame: box, track id, how found and score."""
    return [[[(d.bounding_box, d.index, d.source, d.confidence) for d in frame[field].detections]
             for _, frame in sorted(sample.frames.items())] for sample in videos]


def test_ray_splits_videos_and_gives_the_local_engines_tracks_and_videos(cluster, two_videos, tmp_path):
    """One video a task on both engines: the same faces per frame with the same track ids, and
    anonymized videos byte for byte the local engine's (libx264 with the same settings and
    frames is deterministic), with the same per-face facts."""
    done = []
    ldfa.detect_faces(two_videos, label_field="found_here", progress=False)
    found = ldfa.detect_faces(two_videos, label_field="found_on_ray", engine={"engine": "ray", "workers": 2},
                              progress=lambda fraction, label: done.append(fraction))
    assert found.failed == 0 and tracks(two_videos, "found_on_ray") == tracks(two_videos, "found_here")
    assert all(any(frames) for frames in tracks(two_videos, "found_here")), "a clip without faces"
    assert 0.5 in done  # each video's result came back on its own: a task a video

    faces = sum(len(frame) for frames in tracks(two_videos, "found_here") for frame in frames)
    for name, engine in (("here", "local"), ("ray", {"engine": "ray", "workers": 2})):
        summary = ldfa.anonymize_faces(two_videos, method="pixelate", faces_field="found_here", field=name,
                                       output_dir=tmp_path / name, progress=False, engine=engine)
        assert (summary.written, summary.failed, summary.faces) == (2, 0, faces), name
    assert digests(two_videos, "ray") == digests(two_videos, "here")
    here, on_ray = ([two_videos.values(f"frames.found_here.detections.{field}_{fact}", unwind=True)
                     for fact in FACTS] for field in ("here", "ray"))
    assert on_ray == here and len(here[0]) == faces and None not in here[0]  # every face's seed


def test_licence_plates_on_ray_equal_local(cluster, dataset, tmp_path):
    """Plates take the faces' road through the engine: the same plate boxes found on Ray's
    workers, the same files and plate facts written (the synthetic plate, seeded per plate)."""
    import fiftyone as fo

    from ldfa_testing.plates import labelled_plates, shared_plates

    folder, _ = shared_plates()
    names = sorted(labelled_plates())
    dataset.add_samples([fo.Sample(filepath=str(folder / "images" / n)) for n in (names[0], names[-1])])
    ldfa.detect_faces(dataset, progress=False)
    ldfa.detect_plates(dataset, progress=False)
    found = ldfa.detect_plates(dataset, label_field="plates_on_ray", progress=False,
                               engine={"engine": "ray", "workers": 2})
    boxes = [[(d.bounding_box, d.confidence, d.source) for d in dataset.values(f"{f}.detections", unwind=True)]
             for f in ("plates", "plates_on_ray")]
    assert found.faces >= 2 and boxes[0] == boxes[1]
    for name, engine in (("here", "local"), ("ray", "ray")):
        summary = ldfa.anonymize_faces(dataset, method="gauss", plate_method="plate", field=name, progress=False,
                                       output_dir=tmp_path / name, engine=engine)
        assert summary.plates == found.faces, name
    assert digests(dataset, "ray") == digests(dataset, "here")
    assert [dataset.values(f"plates.detections.ray_{n}", unwind=True) for n in FACTS] == \
        [dataset.values(f"plates.detections.here_{n}", unwind=True) for n in FACTS]
