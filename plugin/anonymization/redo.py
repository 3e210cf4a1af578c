"""``reanonymize_faces``: chosen faces again, with a new seed, in place.

The identity guard and the App's review redo faces that still look like their person: each
gets attempt + 1 (so a new seed) and only its pixels change, starting from the anonymized image
so every other face stays as it was. The work runs on the run's engine, as ``anonymize_faces``.
"""

from __future__ import annotations

import fiftyone as fo
from bson import ObjectId
from fiftyone import ViewField as F

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import IMAGES_PER_CHUNK, AnonymizationSummary, AnonymizeWorker, ImageTask
from ldfa.plugin.anonymization.records import face_tasks, write_results
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.engines.run import blocks, run_tasks
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import ANONYMIZE, face_fact, run_key


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
    run = run_config(collection, run_key(ANONYMIZE, field))
    if run is None:
        raise ConfigError(f"no anonymization run for field '{field}'")
    config = AnonymizationConfig.build(**run["config"])
    engine = EngineConfig.of(engine)
    faces_field = run["faces_field"]
    wanted = frozenset(face_ids)
    view = collection._dataset.filter_labels(
        faces_field, F("_id").is_in([ObjectId(i) for i in wanted]), only_matches=True)
    ids = view.values("id")
    attempts = f"{faces_field}.detections.{face_fact(field, 'attempt')}"

    def read(block_ids: list[str]) -> list[ImageTask]:
        samples = collection._dataset.select(block_ids, ordered=True)
        paths, anonymized, faces, tries = samples.values(["filepath", field, faces_field, attempts])
        return [ImageTask(i, p, a or "", face_tasks(f, t, bump=wanted), source=a, redo=wanted)
                for i, p, a, f, t in zip(block_ids, paths, anonymized, faces, tries)]

    summary = AnonymizationSummary(field, config.method)
    with Progress(len(ids), "Re-anonymizing faces", progress) as bar:
        for results in run_tasks(blocks(ids, read), AnonymizeWorker.like_here(config), engine,
                                 IMAGES_PER_CHUNK, uses_gpu=config.uses_diffusion):
            write_results(collection, faces_field, field, results, summary, set_paths=False)
            bar.update(len(results))
    return summary
