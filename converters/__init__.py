"""Cityscapes, COCO and plain-folder round trips that give back the source with only face pixels
changed."""

FORMATS = ("cityscapes", "coco", "folder")  # here, free of FiftyOne, for the CLI's and the App's choices
