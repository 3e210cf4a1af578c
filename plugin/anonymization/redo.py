"""``reanonymize_faces``: chosen faces again, with a new seed, in place.

The identity guard and the App's review redo faces that still look like their person: each
gets attempt + 1 (so a new seed) and only its pixels change, starting from the anonymized image
so every other face stays as it was.
"""

from __future__ import annotations

from pathlib import Path

import fiftyone as fo
from bson import ObjectId
from fiftyone import ViewField as F

from ldfa.plugin.anonymization.config import AnonymizationConfig
from ldfa.plugin.anonymization.faces import AnonymizationSummary, ImagePlan, plan_faces, render, write_image
from ldfa.plugin.errors import ConfigError, ImageError
from ldfa.plugin.io.images import read_rgb
from ldfa.plugin.progress import Progress, ProgressArg
from ldfa.plugin.runs import run_config
from ldfa.plugin.schema import ANONYMIZE, run_key


def reanonymize_faces(
    collection: fo.core.collections.SampleCollection,
    field: str,
    face_ids: list[str],
    progress: ProgressArg = True,
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
    faces_field = run["faces_field"]
    wanted = set(face_ids)
    view = collection._dataset.filter_labels(
        faces_field, F("_id").is_in([ObjectId(i) for i in wanted]), only_matches=True)
    ids = view.values("id")
    summary = AnonymizationSummary(field, config.method)
    inpainter = config.inpainter
    with Progress(len(ids), "Re-anonymizing faces", progress) as bar:
        for sample_id in ids:
            sample = collection._dataset[sample_id]
            summary.images += 1
            try:
                pixels, info = read_rgb(sample[field])
                original = read_rgb(sample.filepath)[0] if config.uses_diffusion else None
            except (ImageError, TypeError) as e:
                summary.failures.append({"filepath": sample.filepath, "error": str(e)})
                continue
            plan = plan_faces(sample, pixels, config, faces_field, field, bump=wanted)
            redo = {f.index for f in plan if f.detection.id in wanted}
            item = ImagePlan(sample, pixels, info.orientation, Path(sample[field]), plan, redo, original)
            [(new, mask)] = render([item], config, inpainter)
            write_image(item, new, mask, config, faces_field, field)
            sample.save()
            summary.written += 1
            summary.count(f for f in plan if f.index in redo)
            bar.update()
    return summary
