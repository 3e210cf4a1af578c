"""The privacy verdict: a face is recognisable when any model that can judge it says so."""

import pytest

from ldfa.plugin.metrics.verdict import NO_FACE_LEFT, ratio_to_threshold, same_person_verdict

THRESHOLDS = {"facenet": 0.45, "dlib": 0.6}


def test_one_model_that_recognises_the_face_puts_it_at_risk():
    # FaceNet calls it another person, dlib the same: an attacker uses dlib
    assert same_person_verdict({"facenet": 0.9, "dlib": 0.5}, THRESHOLDS) is True
    assert same_person_verdict({"facenet": 0.9, "dlib": 0.7}, THRESHOLDS) is False


def test_a_face_no_model_can_judge_is_not_measurable_not_safe():
    assert same_person_verdict({"facenet": None, "dlib": None}, THRESHOLDS) is None
    assert same_person_verdict({}, THRESHOLDS) is None
    # one judge is enough for a verdict; a face with nothing left is judged: not the same person
    assert same_person_verdict({"facenet": None, "dlib": 0.7}, THRESHOLDS) is False
    assert same_person_verdict({"facenet": NO_FACE_LEFT, "dlib": None}, THRESHOLDS) is False


def test_the_closest_model_ranks_the_face_in_units_of_its_threshold():
    assert ratio_to_threshold({"facenet": 0.9, "dlib": 0.3}, THRESHOLDS) == pytest.approx(0.5)
    assert ratio_to_threshold({"facenet": 0.36, "dlib": 0.9}, THRESHOLDS) == pytest.approx(0.8)
    assert ratio_to_threshold({"facenet": NO_FACE_LEFT, "dlib": None}, THRESHOLDS) is None
    # below 1 exactly when the verdict says "same person"
    for distances in ({"facenet": 0.44}, {"facenet": 0.46, "dlib": 0.61}, {"dlib": 0.59}):
        assert (ratio_to_threshold(distances, THRESHOLDS) < 1) == same_person_verdict(distances, THRESHOLDS)


def test_a_face_some_model_recognises_is_at_risk_whatever_its_residual():
    from ldfa.plugin.metrics.verdict import review_status

    assert review_status(True, 0.0) == review_status(True, None) == "at_risk"
    assert review_status(False, 0.99) == review_status(False, None) == "replaced"


def test_a_face_no_model_can_judge_is_at_risk_when_much_of_it_remains():
    from ldfa.plugin.metrics.verdict import RESIDUAL_AT_RISK, review_status

    assert review_status(None, RESIDUAL_AT_RISK) == review_status(None, 1.0) == "at_risk"
    assert review_status(None, RESIDUAL_AT_RISK - 0.01) == review_status(None, 0.0) == "not_measurable"
    assert review_status(None, None) == "not_measurable"  # residual not measured: nothing says at risk


@pytest.mark.parametrize(("size", "shown"), [(19.96, "19.9"), (19.999, "19.9"), (12.8, "12.8"), (10.24, "10.2"),
                                             (19.94, "19.9"), (7.0, "7")])
def test_a_face_below_a_models_minimum_never_reads_as_at_it(size, shown):
    from ldfa.plugin.metrics.face_sizes import too_small

    why = too_small(size, 20, "identity", "facenet separates people")
    assert why == f"identity not measurable at this size (face {shown} px; facenet separates people from 20 px)"
    assert float(shown) < 20
    assert too_small(20.0, 20, "identity", "facenet separates people") is None  # at the minimum: measured
