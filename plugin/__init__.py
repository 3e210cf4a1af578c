"""The ldfa engine: detection, anonymization, metrics. Knows FiftyOne datasets, nothing of the App."""
