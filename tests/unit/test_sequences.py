"""The naming rules that make images frames of a sequence, and MOTChallenge's gt.txt."""

import pytest

from ldfa.converters.sequences import cityscapes_frame, mot_gt_of, mot_people, sequence_frames
from ldfa.plugin.errors import ConfigError


def test_a_folder_of_numbered_frames_is_one_sequence_named_by_its_folder():
    mot = [f"MOT17-02-FRCNN/img1/{n:06d}.jpg" for n in (1, 2, 3, 4)]
    exported = [f"clip/frame_{n:04d}.png" for n in (0, 10, 20)]  # every 10th frame
    found = sequence_frames([*mot, *exported, "clip/cover.jpg", "MOT17-02-FRCNN/seqinfo.ini"])
    assert found == {**{rel: ("MOT17-02-FRCNN/img1", n) for n, rel in enumerate(mot, 1)},
                     **{rel: ("clip", n) for n, rel in zip((0, 10, 20), exported)}}


def test_numbered_photos_that_are_no_run_stay_photos():
    assert sequence_frames(["a/IMG_0001.jpg", "a/IMG_0002.jpg"]) == {}  # too few
    assert sequence_frames(["b/1.jpg", "b/2.jpg", "b/4.jpg"]) == {}  # a gap: uneven steps
    assert sequence_frames(["c/1.jpg", "c/2.jpg", "c/3.jpg", "c/3.png"]) == {}  # frame 3 twice
    assert sequence_frames(["d/x1.jpg", "d/y2.jpg", "d/z3.jpg"]) == {}  # no shared prefix
    # photos numbered by a collection, each its own size: no camera's frames
    sizes = {"e/eu_1.jpg": (711, 450), "e/eu_2.jpg": (2048, 1536), "e/eu_3.jpg": (1023, 764)}
    assert sequence_frames(sizes, sizes.get) == {}
    same = dict.fromkeys(sizes, (640, 480)) | {"e/eu_3.jpg": None}  # an unreadable frame decides nothing
    assert len(sequence_frames(same, same.get)) == 3


def test_two_sequences_in_one_folder_and_frames_at_the_root():
    names = [f"{side}_{n:04d}.png" for side in ("left", "right") for n in range(3)]
    found = sequence_frames([f"stereo/{name}" for name in names] + ["7.jpg", "8.jpg", "9.jpg"])
    assert found["stereo/left_0002.png"] == ("stereo/left_", 2)
    assert found["stereo/right_0000.png"] == ("stereo/right_", 0)
    assert found["8.jpg"] == (".", 8)


def test_cityscapes_sequence_names():
    assert cityscapes_frame("aachen_000000_000019_leftImg8bit.png") == ("aachen_000000", 19)
    assert cityscapes_frame("bad-honnef_000012_000029_leftImg8bit.png") == ("bad-honnef_000012", 29)
    assert cityscapes_frame("aachen_000000_000019_gtFine_polygons.json") is None
    assert cityscapes_frame("aachen_000019_leftImg8bit.png") is None


def test_mot_gt_keeps_every_person_by_frame_and_no_object():
    text = ("1,1,260,450,102,262,1,1,1.0\n"
            "2,1,262,449,102,263,1,1,0.5\n"
            "1,7,10,20,30,40,0,7,0.25\n"  # a static person: not scored, still a person
            "1,8,10,20,30,40,0,3,1.0\n"  # a car
            "\n")
    people = mot_people(text)
    assert sorted(people) == [1, 2]
    assert [(b.track, b.label, b.active) for b in people[1]] == [(1, 1, True), (7, 7, False)]
    assert (people[2][0].x, people[2][0].y, people[2][0].w, people[2][0].h, people[2][0].visibility) == (
        262, 449, 102, 263, 0.5)


@pytest.mark.parametrize("line", ["1,1,260,450,102,262,1,1", "1,1,260,450,wide,262,1,1,1.0"])
def test_a_malformed_gt_line_is_an_error_naming_it(line):
    with pytest.raises(ConfigError, match=r"line 2 .*expected 9 comma-separated numbers"):
        mot_people(f"1,1,260,450,102,262,1,1,1.0\n{line}\n")


def test_mot_ground_truth_lies_beside_img1():
    assert mot_gt_of("MOT17-02-FRCNN/img1") == "MOT17-02-FRCNN/gt/gt.txt"
    assert mot_gt_of("clip") is None
