"""Cityscapes and COCO round trips that give back the source dataset with only face pixels changed."""

FORMATS = ("cityscapes", "coco")  # here, free of FiftyOne, for the CLI's and the App's choices
