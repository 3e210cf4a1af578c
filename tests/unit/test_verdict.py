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
