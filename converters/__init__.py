"""Cityscapes and COCO round trips that give back the source dataset with only face pixels changed."""
