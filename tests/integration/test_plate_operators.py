"""Licence plates in the App: the detect operator's "Licence plates too" and the measure_plates
operator, run through FiftyOne's executor on real plate photos with the real plate detector and OCR."""

from __future__ import annotations

import pytest
from PIL import Image

from ldfa.plugin.schema import AT_RISK, PLATE_LABEL, PLATES, REPLACED, face_status, plate_fact, plates_queue_view
from ldfa_testing.plates import labelled_plates, shared_plates

DETECT, MEASURE = "@ldfa/anonymization/detect_faces", "@ldfa/anonymization/measure_plates"
PHOTOS = ("eu_eu1.jpg", "eu_test_002.jpg")  # European close-ups whose plates OCR reads


def form(operator_uri: str, dataset, **params) -> dict:
    """The operator's form as the App asks for it: input name -> its JSON property."""
    import fiftyone.operators as foo
    from fiftyone.operators.executor import ExecutionContext

    ctx = ExecutionContext({"dataset_name": dataset.name, "params": params})
    return foo.get_operator(operator_uri).resolve_input(ctx).to_json()["type"]["properties"]


@pytest.fixture
def photos(dataset):
    """``PHOTOS`` with their labelled plates (``plates_gt``, label ``plate``)."""
    import fiftyone as fo

    folder, _ = shared_plates()
    labelled = labelled_plates()
    samples = []
    for name in PHOTOS:
        width, height = Image.open(folder / "images" / name).size
        samples.append(fo.Sample(filepath=str(folder / "images" / name), plates_gt=fo.Detections(detections=[
            fo.Detection(label="plate", bounding_box=[x / width, y / height, w / width, h / height])
            for x, y, w, h in labelled[name]])))
    dataset.add_samples(samples)
    return dataset


def test_the_detect_form_shows_the_plate_detector_only_with_plates_on(dataset):
    off = form(DETECT, dataset)
    assert off["plates"]["default"] is False and "plate_detector" not in off
    on = form(DETECT, dataset, plates=True)
    assert on["plates_field"]["default"] == PLATES
    assert on["plate_detector"]["default"] == "platedet"
    assert {"plate_confidence", "plate_zoom", "plate_model", "plates_labels"} <= set(on)
    assert "device" not in on  # the face detector's device is not shown either


def test_plates_detected_in_the_app_then_measured_after_a_solid_fill(photos, tmp_path):
    import fiftyone.operators as foo
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionError

    import ldfa

    # detect, delegated as a large view would be: faces then plates, progress to the end
    foo.get_operator(DETECT)(photos.view(), plates=True, delegate=True)
    service = DelegatedOperationService()
    [queued] = service.list_operations(dataset_name=photos.name)
    service.execute_queued_operations(dataset_name=photos.name)
    done = service.get(queued.id)
    assert done.run_state == "completed", done.result
    assert done.status.progress == 1.0
    found = done.result.result["plates"]
    labelled = photos.count("plates_gt.detections")
    assert found["faces"] == photos.count("plates.detections") >= labelled
    assert photos.distinct("plates.detections.label") == [PLATE_LABEL]
    assert set(photos.distinct("plates.detections.source")) <= {"platedet", "zoom"}
    assert all(0 < c <= 1 for c in photos.values("plates.detections.confidence", unwind=True))

    anonymized = ldfa.anonymize_faces(photos, method="solid", output_dir=str(tmp_path / "solid"), progress=False)
    assert anonymized.plates == found["faces"]

    assert MEASURE in [op.uri for op in foo.list_operators()]  # listed in fiftyone.yml, registered
    # the form offers the labelled plates, never the plates the version replaced
    choices = form(MEASURE, photos, field="anon_solid")["gt_field"]["type"]["values"]
    assert "plates_gt" in choices and PLATES not in choices

    result = foo.get_operator(MEASURE)(photos.view(), field="anon_solid", gt_field="plates_gt")
    assert result.error is None, result.error
    summary = result.result
    assert summary["plates_field"] == PLATES and summary["ocr"]
    assert summary["labelled"]["plates"] == labelled
    assert summary["labelled"]["recall"] == 1.0 and summary["labelled"]["covered_whole"] == 1.0
    assert summary["labelled"]["readable_before"] >= 1 and summary["labelled"]["leaks"] == 0
    statuses = photos.values(f"plates.detections.{face_status('anon_solid')}", unwind=True)
    assert len(statuses) == found["faces"] and AT_RISK not in statuses and REPLACED in statuses
    assert min(photos.values(f"plates.detections.{plate_fact('anon_solid', 'cover')}", unwind=True)) >= 0.9
    view = plates_queue_view("anon_solid", REPLACED)
    assert view in photos.list_saved_views()
    assert photos.load_saved_view(view).count() == statuses.count(REPLACED)

    # a version that replaced no plates has none to measure: said, not measured
    ldfa.anonymize_faces(photos, method="pixelate", plates_field=None, output_dir=str(tmp_path / "pix"),
                         progress=False)
    with pytest.raises(ExecutionError, match="'anon_pixelate' replaced no licence plates"):
        foo.get_operator(MEASURE)(photos.view(), field="anon_pixelate")
