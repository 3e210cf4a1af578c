"""The App audit: grouped side-by-side dataset, saved views, panel table, review operators."""

from __future__ import annotations

import ldfa
from ldfa.plugin.audit.views import status_counts
from ldfa.plugin.io.images import read_rgb
from ldfa_testing.photos import HOPPER_FACE, TINY_FACE


def test_audit_dataset_groups_original_and_each_version_on_the_same_files(audited):
    import fiftyone as fo

    audit = ldfa.build_audit_dataset(audited)
    try:
        assert audit.media_type == "group"
        assert sorted(audit.group_slices) == ["anon_pixelate", "anon_solid", "original"]
        assert audit.default_group_slice == "original"
        for sample in audited:
            group = audit.get_group(audit.match(fo.ViewField("source_id") == sample.id)
                                    .first().group.id)
            # same files, nothing copied; the boxes drawn on every slice
            assert {k: v.filepath for k, v in group.items()} == {
                "original": sample.filepath, "anon_solid": sample.anon_solid,
                "anon_pixelate": sample.anon_pixelate}
            for member in group.values():
                assert member.faces.detections == sample.faces.detections
        # a rebuild mirrors the current state instead of piling up samples
        assert len(ldfa.build_audit_dataset(audited).select_group_slices()) == 6
    finally:
        fo.delete_dataset(audit.name)


def test_saved_views_riskiest_lost_small_uncertain_and_failed(audited):
    for sample in audited.iter_samples(autosave=True):
        for face in sample.faces.detections:  # a face found at zoom and one from keypoints
            face.confidence = {tuple(TINY_FACE): 0.3, tuple(HOPPER_FACE): None}.get(
                tuple(face.bounding_box), face.confidence)
    names = ldfa.save_audit_views(audited)
    assert set(names) == {"ldfa-riskiest-anon_solid", "ldfa-riskiest-anon_pixelate",
                          "ldfa-lost-anon_solid", "ldfa-lost-anon_pixelate",
                          "ldfa-faces-under-32px", "ldfa-uncertain-faces", "ldfa-failed",
                          *(f"ldfa-{status}-{field}" for status in ("at-risk", "not-measurable", "replaced")
                            for field in ("anon_solid", "anon_pixelate"))}
    assert set(audited.list_saved_views()) >= set(names)
    # the review queue: each face in the view of its status (facenet alone judges here, threshold 0.4)
    assert audited.load_saved_view("ldfa-at-risk-anon_solid").count() == 2  # patches: one per face
    assert audited.load_saved_view("ldfa-replaced-anon_solid").count() == 1
    riskiest = audited.load_saved_view("ldfa-riskiest-anon_solid")
    assert riskiest.values("faces.anon_solid_facenet_dist") == [0.2, 0.35]  # < 0.4, riskiest first
    assert riskiest.values("faces.anon_pixelate_facenet_dist") == [0.5, 0.7]
    assert audited.load_saved_view("ldfa-lost-anon_pixelate").count() == 2
    assert audited.load_saved_view("ldfa-lost-anon_solid").values("faces.bounding_box") == [
        list(TINY_FACE)]
    assert audited.load_saved_view("ldfa-faces-under-32px").values("faces.bounding_box") == [
        list(TINY_FACE)]
    # the astronaut's face scored 0.9: certain; the others are the reviewer's first stop
    assert audited.load_saved_view("ldfa-uncertain-faces").values("faces.confidence") == [None, 0.3]
    assert audited.load_saved_view("ldfa-failed").count() == 0
    sample = audited.first()
    sample.tags.append("anon_solid_failed")
    sample.save()
    assert audited.load_saved_view("ldfa-failed").count() == 1
    assert ldfa.save_audit_views(audited) == names  # refreshing replaces, never duplicates


def test_open_audit_returns_the_grouped_dataset_and_panel_table(audited):
    import fiftyone as fo

    from ldfa.operators.panel_tables import table_rows

    audit = ldfa.open_audit(audited)
    try:
        assert audit.media_type == "group" and audited.has_saved_view("ldfa-faces-under-32px")
        rows = table_rows(audited)
        assert [r["field"] for r in rows] == ["original", "anon_pixelate", "anon_solid"]
        solid = rows[2]
        assert solid["method"] == "solid" and solid["mAP_s"] == 0.1
        assert (solid["embedder"], solid["dist"]) == ("facenet", round((0.9 + 0.2 + 0.35) / 3, 3))
        assert rows[0]["mAP"] is None  # no run recorded for the originals: shown empty, not made up
        # the review views are saved on the audit dataset too, cut from the version's slice
        assert {"ldfa-riskiest-anon_solid", "ldfa-lost-anon_pixelate", "ldfa-faces-under-32px",
                "ldfa-uncertain-faces"} <= set(audit.list_saved_views())
        lost = audit.load_saved_view("ldfa-lost-anon_pixelate")
        assert len(lost) == 2 and set(lost.values("filepath")) <= set(audited.values("anon_pixelate"))
        assert audit.load_saved_view("ldfa-riskiest-anon_solid").values("faces.anon_solid_facenet_dist") == [0.2, 0.35]
        # the detector's misses after anonymization count beside the faces, on either dataset
        counts = status_counts(audit, "anon_pixelate")
        assert (counts["missed"], counts["faces"]) == (2, 3) and counts == status_counts(audited, "anon_pixelate")
    finally:
        fo.delete_dataset(audit.name)


def test_review_tags_faces_and_reanonymizes_them_in_place(audited):
    import fiftyone.operators as foo

    sample = audited.first()
    face, other = sample.faces.detections
    ctx = {"view": audited.view(),
           "selected_labels": [{"label_id": face.id, "sample_id": sample.id, "field": "faces"}]}
    result = foo.execute_operator("@ldfa/anonymization/tag_faces",
                                  {**ctx, "params": {"tag": "approved"}})
    assert result.error is None, result.error
    assert audited.count_label_tags() == {"approved": 1}
    foo.execute_operator("@ldfa/anonymization/tag_faces", {**ctx, "params": {"tag": "needs_review"}})
    assert audited.count_label_tags() == {"needs_review": 1}  # one verdict per face

    path = sample.anon_pixelate
    before = read_rgb(path)[0]
    seed = face.anon_pixelate_seed
    result = foo.execute_operator("@ldfa/anonymization/reanonymize_selected_faces",
                                  {**ctx, "params": {"field": "anon_pixelate"}})
    assert result.error is None, result.error
    assert result.result["faces"] == 1
    sample.reload()
    assert sample.anon_pixelate == path  # replaced in place: same file, new content
    assert sample.faces.detections[0].anon_pixelate_seed != seed
    assert sample.faces.detections[1].anon_pixelate_seed == other.anon_pixelate_seed
    assert read_rgb(path)[0].shape == before.shape


def test_review_from_the_audit_dataset_reaches_the_source_and_every_slice(audited):
    import fiftyone as fo
    import fiftyone.operators as foo

    from ldfa.plugin.guard.redo import redo_faces

    audit = ldfa.open_audit(audited)
    try:
        every_slice = audit.select_group_slices()
        copy = audit.select_group_slices("anon_solid").first()  # the reviewer looks at a version
        face = copy.faces.detections[0]
        result = foo.execute_operator("@ldfa/anonymization/tag_faces", {
            "view": audit.view(), "params": {"tag": "approved"},
            "selected_labels": [{"label_id": face.id, "sample_id": copy.id, "field": "faces"}]})
        assert result.error is None, result.error
        assert result.result["tagged"] == 1
        assert audited.count_label_tags() == {"approved": 1}
        assert every_slice.count_label_tags() == {"approved": 3}  # the face on all three slices

        seed = face.anon_solid_seed
        summary = redo_faces(audit, "anon_solid", [face.id])
        assert summary.written == 1
        source_face = audited[copy.source_id].faces.detections[0]
        assert source_face.anon_solid_seed != seed and source_face.anon_solid_attempt == 1
        # measured again: the fixture's 0.9 is gone, a solid fill leaves no face to embed
        assert source_face.anon_solid_facenet_dist is None and source_face.anon_solid_facenet_reason
        mirrored = every_slice.filter_labels("faces", fo.ViewField("_id") == face._id)
        assert mirrored.values("faces.detections.anon_solid_attempt", unwind=True) == [1, 1, 1]
        assert mirrored.values("faces.detections.anon_solid_facenet_dist", unwind=True) == [None] * 3
    finally:
        fo.delete_dataset(audit.name)


def test_each_status_queue_ranks_its_faces_riskiest_first(dataset, sample_photos):
    """At risk: judged faces by their closest model (in thresholds), then the faces no model
    judges by what remains of them; not measurable: by what remains, then smaller first."""
    import fiftyone as fo

    from ldfa.plugin.audit.views import faces_with_status

    def face(box, status, kept, ratio=None):
        return fo.Detection(label="face", bounding_box=box, v_status=status, v_residual=kept, v_threshold_ratio=ratio)

    png, jpg = sample_photos
    dataset.add_samples([
        fo.Sample(filepath=str(png), faces=fo.Detections(detections=[
            face([0.1, 0.1, 0.05, 0.05], "not_measurable", 0.2), face([0.5, 0.5, 0.02, 0.02], "not_measurable", 0.2),
            face([0.3, 0.3, 0.02, 0.02], "not_measurable", None), face([0.6, 0.1, 0.02, 0.02], "at_risk", 0.9),
            face([0.7, 0.1, 0.02, 0.02], "at_risk", 0.1, 0.5), face([0.7, 0.3, 0.2, 0.2], "at_risk", 0.5, 0.0),
            face([0.1, 0.6, 0.2, 0.2], "replaced", 0.1, 1.5)])),
        fo.Sample(filepath=str(jpg), faces=fo.Detections(detections=[
            face([0.1, 0.1, 0.03, 0.03], "not_measurable", 0.35), face([0.2, 0.2, 0.03, 0.03], "at_risk", 0.95)]))])
    dataset.compute_metadata()
    at_risk = faces_with_status(dataset, "v", "at_risk")
    assert at_risk.values("faces.v_threshold_ratio") == [0.0, 0.5, None, None]
    assert at_risk.values("faces.v_residual") == [0.5, 0.1, 0.95, 0.9]
    unmeasured = faces_with_status(dataset, "v", "not_measurable")
    assert unmeasured.values("faces.v_residual") == [0.35, 0.2, 0.2, None]
    assert [box[2] for box in unmeasured.values("faces.bounding_box")][1:3] == [0.02, 0.05]  # 10 px before 26
    assert faces_with_status(dataset, "v", "replaced").values("faces.v_threshold_ratio") == [1.5]
