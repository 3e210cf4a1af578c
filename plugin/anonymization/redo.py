"""``reanonymize_faces``: chosen faces again, with a new seed, in place.

The identity guard and the App's review redo faces that still look like their person: each
gets attempt + 1 (so a new seed) and only its pixels change, starting from the anonymized image
so every other face stays as it was. In a frame sequence a face is redone with its whole track,
so the track stays one new person. The work runs on the run's engine, as ``anonymize_faces``.
"""

from __future__ import annotations

import fiftyone as fo
from fiftyone import ViewField as F

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import AnonymizationSummary, ImageTask
from ldfa.plugin.anonymization.records import anonymize_blocks, region_tasks
from ldfa.plugin.deprecation import renamed
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.errors import ConfigError, still_images_only
from ldfa.plugin.freshness import attempts_path
from ldfa.plugin.progress import ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import ANONYMIZE, SEQUENCE, run_key


@renamed(out_field="field")
def reanonymize_faces(
    collection: fo.core.collections.SampleCollection,
    field: str,
    face_ids: list[str],
    progress: ProgressArg = True,
    engine: str | dict | EngineConfig = "local",
) -> AnonymizationSummary:
    """Give the faces ``face_ids`` a new seed (attempt + 1) and redo only them, in place.

    Starts from each sample's anonymized image, so every other face stays as it was, and uses
    the config recorded for ``field``; conditions (controlled LDFA, push-away) still come from
    the original image. The identity guard and the App's review build on it.
    """
    still_images_only(collection, "re-anonymizing chosen faces")
    run = run_config(collection, run_key(ANONYMIZE, field))
    if run is None:
        raise ConfigError(f"no anonymization run for field '{field}'")
    config = AnonymizationConfig.build(**run["config"])
    engine = EngineConfig.of(engine)
    faces_field = run["faces_field"]
    sequences = collection.has_field(SEQUENCE)
    wanted = frozenset(face_ids)
    if sequences:
        wanted = _whole_tracks(collection._dataset, faces_field, wanted)
    ids = collection._dataset.match_labels(ids=list(wanted), fields=faces_field).values("id")
    plates = run.get("plates_field")  # the run's plates: in the tasks, so the digest stays whole
    paths = ["filepath", field, faces_field, attempts_path(faces_field, field)]
    paths += [plates, attempts_path(plates, field)] if plates else []

    def read(block_ids: list[str]) -> list[ImageTask]:
        samples = collection._dataset.select(block_ids, ordered=True)
        files, anonymized, *regions = samples.values(paths)
        regions = list(zip(*regions, *([[None] * len(block_ids)] * 2 if not plates else [])))
        names = samples.values(SEQUENCE) if sequences else [None] * len(block_ids)
        return [ImageTask(i, p, a or "", region_tasks(*r, bump=wanted, tracks=name), source=a, redo=wanted)
                for i, p, a, r, name in zip(block_ids, files, anonymized, regions, names)]

    summary = AnonymizationSummary(field, config.method)
    anonymize_blocks(collection, ids, read, config, engine, faces_field, field, summary,
                     "Re-anonymizing faces", progress, set_paths=False, plates_field=plates)
    return summary


def _whole_tracks(dataset: fo.Dataset, faces_field: str, wanted: frozenset[str]) -> frozenset[str]:
    """``wanted`` with every face of a frame sequence's track one of them belongs to: redone
    alone, a face would be a new person in its frame only."""
    view = dataset.match_labels(ids=list(wanted), fields=faces_field).exists(SEQUENCE)
    tracks = {(name, d.index) for name, faces in zip(*view.values([SEQUENCE, faces_field]))
              for d in faces.detections if d.id in wanted and d.index is not None}
    if not tracks:
        return wanted
    frames = dataset.match(F(SEQUENCE).is_in(sorted({name for name, _ in tracks})))
    return wanted | {d.id for name, faces in zip(*frames.values([SEQUENCE, faces_field]))
                     for d in (faces.detections if faces else []) if (name, d.index) in tracks}
