"""Every Python block of the README and of the documentation's pages, run as written, in one
interpreter, as a reader copies them one after another: the README's first, then each page's in
the order of the site's navigation (mkdocs.yml ``nav``). Read from the files, so the test
follows them.

The only edit to a block's text is ``PATHS``: a user's folders, mapped into this test's private
folder. Everything else a block names is prepared under that name in private places: the dataset
``streets`` in the test session's private database (the packaged photos, as `ldfa detect
--images /data/streets` adds them, with a Cityscapes-like ``gt_fine`` person outline each), the
file ``photo.jpg`` in the working folder, and the default LDFA model id in a private Hugging Face
cache (``HF_HOME``) holding the tiny random-weight pipeline (real diffusion code, noise faces). A
block that launches the App really starts it (on a free port: ``FIFTYONE_DEFAULT_APP_PORT``); the
test opens its page, presses Ctrl-C (SIGINT) and checks that the server has stopped, and its port
is free, when the block returns. A block that can never run offline is in ``NEVER_OFFLINE``,
with why; any other block runs, so a new one runs or fails.
"""

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from ldfa_testing.app_browser import app_processes, assert_app_stopped, free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
NAV_PAGE = re.compile(r"^\s*-[^:]*:\s*(\S+\.md)\s*$", re.M)  # a page of mkdocs.yml's nav
PATHS = {"/data/": "data/"}  # a user's folder -> the same name inside the test's private folder
NEVER_OFFLINE = {  # a line of the block -> why it cannot run here
    '"ray_address": "ray://head:10001"': "joins a Ray cluster of GPU machines at ray://head:10001",
}
LAUNCHES_APP = re.compile(r"\blaunch_(audit|app)\(")
RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for path, line, source in json.load(open(sys.argv[1])):
    print(f"block at {path}:{line}", flush=True)
    exec(compile("\\n" * (line - 1) + source, path, "exec"), namespace)
print("blocks done", flush=True)
"""


def sources() -> list[Path]:
    """README.md, then every page of the site in the order of its navigation."""
    nav = NAV_PAGE.findall((REPO / "mkdocs.yml").read_text())
    return [README, *(REPO / "docs" / page for page in nav)]


def python_blocks() -> list[tuple[str, int, str]]:
    """(file, line of its first code line, code) of every ```python block, in reading order."""
    found = []
    for source in sources():
        text = source.read_text()
        found += [(str(source), text.count("\n", 0, m.start(1)) + 1, m.group(1))
                  for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]
    return found


def listed(block: str) -> str | None:
    return next((why for marker, why in NEVER_OFFLINE.items() if marker in block), None)


def test_every_python_block_runs_or_is_listed_with_why():
    """The README has its own blocks and every page of docs/ is in the nav (so no page's blocks
    are left out); each NEVER_OFFLINE entry names one block; a block that runs holds code, not a
    placeholder."""
    pages = {str(p) for p in sources()[1:]}
    assert {str(p) for p in (REPO / "docs").rglob("*.md")} <= pages
    blocks = python_blocks()
    assert sum(path == str(README) for path, _, _ in blocks) >= 2 and len(blocks) >= 5
    for marker in NEVER_OFFLINE:
        assert sum(marker in code for _, _, code in blocks) == 1, f"NEVER_OFFLINE names no single block: {marker}"
    for path, line, code in blocks:
        tree = ast.parse(code, f"{path} block at line {line}")
        if not listed(code):
            placeholders = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value is Ellipsis]
            assert not placeholders, f"{path} line {line}: `...` is a placeholder, not code"


@pytest.mark.slow  # detection, LDFA with the tiny model, Ray, the audit and the App: minutes
def test_the_python_blocks_run_as_written(fo, sample_photos, tmp_path):
    runnable = [(path, line, mapped(code, tmp_path)) for path, line, code in python_blocks() if not listed(code)]
    (tmp_path / "blocks.json").write_text(json.dumps(runnable))
    streets = prepare(fo, sample_photos, tmp_path)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
           "FIFTYONE_DEFAULT_APP_PORT": str(free_port())}
    for name in ("LDFA_RAY_ADDRESS", "RAY_ADDRESS"):  # "starts Ray here", not someone's cluster
        env.pop(name, None)
    stderr = tmp_path / "stderr.txt"
    try:
        with stderr.open("w") as err:
            runner = subprocess.Popen([sys.executable, "-u", "-c", RUNNER, str(tmp_path / "blocks.json")],
                                      cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=err, text=True)
            watchdog = threading.Timer(1500, runner.kill)
            watchdog.start()
            try:
                apps = run_stopping_each_app(runner)
            finally:
                watchdog.cancel()
                if runner.poll() is None:
                    runner.kill()
        assert runner.wait() == 0, stderr.read_text()[-4000:]
        assert apps == sum(bool(LAUNCHES_APP.search(code)) for _, _, code in runnable) > 0
        assert_blocks_did_their_work(fo, streets, tmp_path)
    finally:
        for name in ("streets", "streets-audit"):
            if name in fo.list_datasets():
                fo.load_dataset(name).delete()


def mapped(code: str, root: Path) -> str:
    for path, private in PATHS.items():
        code = code.replace(path, f"{root / private}/")
    return code


def prepare(fo, sample_photos, root: Path):
    """The names the blocks use, in private places: the dataset ``streets`` of /data/streets,
    ``photo.jpg`` and the default LDFA model in the Hugging Face cache."""
    from ldfa.plugin.anonymization.config import DEFAULT_MODEL
    from ldfa_testing.tiny_pipeline import build

    folder = root / PATHS["/data/"] / "streets"
    folder.mkdir(parents=True)
    for photo in sample_photos:
        shutil.copy(photo, folder / photo.name)
    shutil.copy(sample_photos[1], root / "photo.jpg")
    # what a downloaded model looks like in the cache: a snapshot, and the ref naming it
    repo = root / "hf" / "hub" / f"models--{DEFAULT_MODEL.replace('/', '--')}"
    build(repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    streets = fo.Dataset("streets", overwrite=True, persistent=True)
    person = [[(0.25, 0.05), (0.75, 0.05), (0.8, 1.0), (0.2, 1.0)]]  # an outline from crown to feet
    streets.add_samples([fo.Sample(filepath=str(folder / p.name), gt_fine=fo.Polylines(polylines=[
        fo.Polyline(label="person", points=person, closed=True, filled=True)])) for p in sample_photos])
    return streets


def run_stopping_each_app(runner) -> int:
    """Read the blocks' output; when a block serves the App, open its page, press Ctrl-C, and
    check that the App has stopped by the time the block has returned. Returns how many Apps."""
    apps, app = 0, None
    for row in runner.stdout:
        if app and row.startswith(("block at ", "blocks done")):
            assert_app_stopped(*app)
            app = None
        found = re.search(r"App: (http\S+)", row)
        if found:
            url = found.group(1)
            with urllib.request.urlopen(url, timeout=60) as page:
                assert page.status == 200
            app = app_processes(runner.pid, url), url
            runner.send_signal(signal.SIGINT)
            apps += 1
    assert app is None, "the run ended with an App it had not stopped"
    return apps


def assert_blocks_did_their_work(fo, streets, root: Path) -> None:
    from ldfa.plugin.schema import ANONYMIZE, DETECT, RESIDUAL, run_key

    streets.reload()
    assert streets.count("faces.detections") > 0
    assert streets.count("anon_ldfa") == len(streets)
    assert all(Path(p).is_relative_to(root / "data" / "streets-anon") for p in streets.values("anon_ldfa"))
    runs = set(streets.list_runs())
    assert {run_key(DETECT, "faces"), run_key(ANONYMIZE, "anon_ldfa"), run_key(RESIDUAL, "anon_ldfa")} <= runs
    assert (root / "photo-anon.jpg").is_file() and (root / "photo-gauss.jpg").is_file()
    assert streets.count("anon_gauss") == len(streets)
    assert "original" in fo.load_dataset("streets-audit").group_slices
