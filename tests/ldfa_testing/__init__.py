"""Helpers the tests, the benchmarks and the README's commands share (no test imports another).

Not part of the installed package: pytest (``pythonpath`` in pyproject.toml) and the benchmarks
put ``tests/`` on the path; from the repository root a command runs as
``PYTHONPATH=tests .venv/bin/python -m ldfa_testing.<module>``.

- ``private_db``: a throwaway FiftyOne database server of one's own;
- ``tiny_pipeline``: a tiny random-weight inpainting model (``python -m ldfa_testing.tiny_pipeline DIR``);
- ``app_browser``: the App in headless Chromium (``python -m ldfa_testing.app_browser docs/``);
- ``street_faces`` and ``dlib_faces``: the labelled face sets of ``../shared/data`` as datasets;
- ``photos``: the face boxes of the photos that ship inside packages;
- ``identities``: the photos of ``../shared/data`` grouped by person, for identity pairs;
- ``sd15``: the full-size SD-1.5 inpainting architecture with random weights (the benchmarks).
"""
