"""The identity guard as an option of anonymization: faces still recognisable are redone, then flagged."""

import ldfa


def test_anonymize_with_identity_guard_flags_faces_that_stay_recognisable(dataset, sample_photos, tmp_path):
    import fiftyone as fo

    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    ldfa.detect_faces(dataset, progress=False)
    # A blur this weak leaves the person recognisable; a new seed cannot change a blur, so the
    # guard's retry fails too and every face must end up tagged for review.
    summary = ldfa.anonymize_faces(dataset, method="gauss", blur_sigma_frac=0.005, blur_sigma_min_px=0,
                                   output_dir=tmp_path / "weak", identity_guard=1, progress=False)
    guard = summary.identity_guard
    assert guard["checked"] == 2 and guard["redone"] == 2 and len(guard["needs_review"]) == 2
    faces = dataset.values("faces.detections", unwind=True)
    assert all("needs_review" in face.tags for face in faces)
    assert all(face["anon_gauss_attempt"] == 1 for face in faces)
    assert dataset.get_run_info("ldfa_anonymize_anon_gauss") is not None
