"""``import_dataset`` and ``export_anonymized_dataset``: Cityscapes / COCO in and out of the App."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ldfa.converters import FORMATS
from ldfa.operators.common import heavy_config, progress_reporter
from ldfa.operators.forms import version_input


def _folder(inputs, name, label, description, choose_dir=True):
    inputs.file(name, required=True, label=label, description=description,
                view=types.FileExplorerView(choose_dir=choose_dir, button_label="Choose..."))


def _path(ctx, name):
    value = ctx.params.get(name)
    return value.get("absolute_path") if isinstance(value, dict) else value


def _file(path) -> dict:
    """A path as the App's file inputs send it."""
    return {"absolute_path": str(path)}


class ImportDataset(foo.Operator):
    """Wraps ``ldfa.import_cityscapes`` / ``ldfa.import_coco``: the source is read in place."""

    @property
    def config(self):
        return heavy_config("import_dataset", "Import Cityscapes or COCO",
                            "Read a Cityscapes root or a COCO folder into a dataset, in place")

    def resolve_input(self, ctx):
        inputs = types.Object()
        formats = types.RadioGroup()
        for name in FORMATS:
            formats.add_choice(name, label=name)
        inputs.enum("format", list(FORMATS), default="cityscapes", view=formats, label="Format")
        _folder(inputs, "source", "Source folder", "Cityscapes root, or the COCO images folder")
        if ctx.params.get("format") == "coco":
            _folder(inputs, "annotations", "Annotations", "The COCO instances JSON", choose_dir=False)
        inputs.str("dataset_name", required=True, label="Dataset name")
        return types.Property(inputs, view=types.View(label="Import dataset"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate")  # None: the App's choice, delegated by default

    def execute(self, ctx):
        from ldfa.converters.formats import import_dataset
        from ldfa.plugin.io.folders import dataset_for_command

        name = ctx.params["dataset_name"]
        with dataset_for_command(name, create=True) as dataset:  # a failed import leaves no dataset
            report = import_dataset(ctx.params.get("format", "cityscapes"), _path(ctx, "source"), dataset,
                                    annotations=_path(ctx, "annotations"), progress=progress_reporter(ctx))
        if not ctx.delegated:
            ctx.trigger("open_dataset", {"dataset": name})
        return report

    def __call__(self, source, dataset_name, format="cityscapes", annotations=None, delegate=False):
        """SDK-style call; the import needs no open dataset."""
        params = dict(source=_file(source), dataset_name=dataset_name, format=format,
                      annotations=_file(annotations) if annotations else None, delegate=delegate)
        return foo.execute_operator(self.uri, {}, params=params)


class ExportAnonymizedDataset(foo.Operator):
    """Wraps ``ldfa.export_anonymized``: the source tree back, with anonymized images."""

    @property
    def config(self):
        return heavy_config("export_anonymized_dataset", "Export anonymized dataset",
                            "Write the dataset in its source format with an anonymized field's images")

    def resolve_input(self, ctx):
        inputs = types.Object()
        version_input(ctx, inputs)
        _folder(inputs, "output", "Output folder", "An empty folder outside the source tree")
        inputs.bool("link", default=False, label="Hard-link unchanged files")
        inputs.bool("overwrite", default=False, label="Replace a non-empty output folder")
        return types.Property(inputs, view=types.View(label="Export anonymized dataset"))

    def resolve_delegation(self, ctx):
        return ctx.params.get("delegate")  # None: the App's choice, delegated by default

    def execute(self, ctx):
        from ldfa.converters.export import export_anonymized

        return export_anonymized(ctx.dataset, ctx.params["field"], _path(ctx, "output"),
                                 link=ctx.params.get("link", False),
                                 overwrite=ctx.params.get("overwrite", False),
                                 progress=progress_reporter(ctx))

    def __call__(self, dataset, field, output, link=False, overwrite=False, delegate=False):
        """SDK-style call: ``foo.get_operator(".../export_anonymized_dataset")(dataset, field, dir)``."""
        params = dict(field=field, output=_file(output), link=link, overwrite=overwrite, delegate=delegate)
        return foo.execute_operator(self.uri, {"dataset": dataset.name}, params=params)
