"""Where a stage's per-image work runs: in this process (``local``) or on a Ray cluster (``ray``).

Each stage splits into a pure per-image core (plain records in, plain records out, no database)
and a driver that reads what the core needs from FiftyOne and writes its results back. An engine
only moves the records between them, so every engine gives the same results.
"""
