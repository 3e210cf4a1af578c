"""Which images are frames of one sequence, and MOTChallenge's people per frame: naming rules
on root-relative paths and text, free of FiftyOne, so the importers and the tests share them.

A frame sequence stays a set of image samples (the converters' round trips keep working); its
frames carry ``sequence`` (an id unique within the dataset) and ``sequence_frame`` (the number
in the file name), so that faces can be followed from frame to frame.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ldfa.plugin.errors import ConfigError

MIN_FRAMES = 3  # fewer numbered images are photos that happen to be numbered, not a sequence
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_CITYSCAPES = re.compile(r"^(.+_\d+)_(\d+)_leftImg8bit\.png$")  # {city}_{seq}_{frame}_leftImg8bit.png
MOT_PEOPLE = frozenset({1, 2, 7})  # MOT16/17/20 classes with a face: pedestrian, person on vehicle, static person
_MOT_COLUMNS = "frame, track id, x, y, w, h, flag, class, visibility"


def sequence_frames(relpaths: Iterable[str], size_of: Callable[[str], tuple | None] | None = None
                    ) -> dict[str, tuple[str, int]]:
    """The images of ``relpaths`` that are frames of a sequence: relpath -> (sequence, frame).

    In one folder, the images whose stems are one prefix and a number (``000001.jpg``,
    ``frame_0010.png``) form a sequence when there are at least ``MIN_FRAMES`` of them and their
    numbers step evenly (every frame, or every n-th): a tracker may follow faces across them. A
    gap, a repeated number or a lone numbered file leaves the images ordinary photos, anonymized
    one by one, and so do numbered images of different sizes, given ``size_of`` (an image's size,
    None when unreadable): a camera's frames share one size, photos numbered by a collection
    (``eu_test_001.jpg``...) need not, and tracking would carry one photo's faces and plates into
    the next. The sequence is the folder (relative to the root, ``.`` for the root itself), or
    ``folder/prefix`` where one folder holds several sequences (``left_0001``, ``right_0001``)."""
    groups: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    repeated: set[tuple[str, str]] = set()
    for rel in relpaths:
        path = PurePosixPath(rel)
        match = _NUMBERED.match(path.stem)
        if not match:
            continue
        key, number = (path.parent.as_posix(), match[1]), int(match[2])
        if number in groups[key]:
            repeated.add(key)
        groups[key][number] = rel
    runs = {key: frames for key, frames in groups.items() if key not in repeated and _is_run(sorted(frames))
            and (size_of is None or len({size_of(rel) for rel in frames.values()} - {None}) <= 1)}
    per_folder = defaultdict(int)
    for folder, _ in runs:
        per_folder[folder] += 1
    found = {}
    for (folder, prefix), frames in runs.items():
        name = folder if per_folder[folder] == 1 else f"{folder}/{prefix}"
        found.update({rel: (name, number) for number, rel in frames.items()})
    return found


def _is_run(numbers: list[int]) -> bool:
    steps = {b - a for a, b in zip(numbers, numbers[1:])}
    return len(numbers) >= MIN_FRAMES and len(steps) == 1


def cityscapes_frame(name: str) -> tuple[str, int] | None:
    """(sequence, frame) of a Cityscapes image name ``{city}_{seq}_{frame}_leftImg8bit.png``:
    ("aachen_000000", 19) for ``aachen_000000_000019_leftImg8bit.png``; None for other names."""
    match = _CITYSCAPES.match(name)
    return (match[1], int(match[2])) if match else None


@dataclass(frozen=True)
class MotBox:
    """One ground-truth box of MOTChallenge's ``gt.txt``, in pixels (1-based, as the file has it)."""

    frame: int
    track: int
    x: float
    y: float
    w: float
    h: float
    active: bool  # flag 1: scored in MOT's evaluation; 0 (static people among them): ignored there
    label: int  # class: 1 pedestrian, 2 person on vehicle, 7 static person, others objects
    visibility: float


def mot_gt_of(image_folder: str) -> str | None:
    """Where MOT keeps the ground truth of the image folder ``<seq>/img1``: ``<seq>/gt/gt.txt``."""
    folder = PurePosixPath(image_folder)
    return (folder.parent / "gt" / "gt.txt").as_posix() if folder.name == "img1" else None


def mot_people(text: str) -> dict[int, list[MotBox]]:
    """The people of a MOT16/17/20 ``gt.txt`` by frame number: every box of a class that shows a
    person, scored or not (a static person's face needs anonymizing as much as a walker's).

    Raises ConfigError naming the first malformed line: a file read half would hide people."""
    people: dict[int, list[MotBox]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(",")]
        try:
            if len(values) != 9:
                raise ValueError(f"{len(values)} values")
            box = MotBox(int(values[0]), int(values[1]), *map(float, values[2:6]), values[6] == "1",
                         int(values[7]), float(values[8]))
        except ValueError as e:
            raise ConfigError(f"line {number} ({line.strip()[:60]!r}): expected 9 comma-separated numbers "
                              f"({_MOT_COLUMNS}), got {e}; fix or remove the line") from None
        if box.label in MOT_PEOPLE:
            people[box.frame].append(box)
    return dict(people)
