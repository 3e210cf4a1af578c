"""The demo: packaged photos -> faces -> anonymized fields, with or without the diffusion model;
its App, and any ldfa.launch_audit's, stops with it."""

import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from ldfa.cli import main as cli
from ldfa_testing.app_browser import app_processes, assert_app_stopped, free_port

pytestmark = pytest.mark.slow  # each test tens of seconds: whole demo runs


def test_demo_runs_end_to_end_with_a_local_model(fo, tmp_path, tiny_model, capsys):
    assert cli(["demo", "--no-app", "--output", str(tmp_path), "--model", tiny_model]) == 0
    dataset = fo.load_dataset("ldfa-demo")
    assert len(dataset) == 2 and dataset.count("faces.detections") == 2
    for method in ("ldfa", "gauss", "pixelate", "solid"):
        assert dataset.count(f"anon_{method}") == 2, method
    printed = capsys.readouterr()
    out = printed.out  # the result; progress and messages went to stderr
    assert "skipped" not in printed.err and f"report: {tmp_path / 'report' / 'report.md'}" in out
    report = (tmp_path / "report" / "report.md").read_text()
    for row in ("| original |", "| anon_ldfa |", "| anon_solid |"):
        assert row in report
    assert (tmp_path / "report" / "identity_distance.png").stat().st_size > 0
    assert "ldfa-riskiest-anon_ldfa" in dataset.list_saved_views()
    # the App opens on the side-by-side audit: every version of each photo in one group
    audit = fo.load_dataset("ldfa-demo-audit")
    assert sorted(audit.group_slices) == ["anon_gauss", "anon_ldfa", "anon_pixelate",
                                          "anon_solid", "original"]
    assert len(audit.select_group_slices()) == 2 * 5 and "'ldfa-demo-audit'" in out


def test_demo_without_the_model_says_so_in_one_line_and_anonymizes_your_folder_too(
    fo, tmp_path, sample_photos, capsys
):
    """`--images DIR` once made every output folder 'inside the source tree': DIR is linked in as
    photos/<its name>, and every method mirrors it as anon_<method>/<its name>/..."""
    yours = tmp_path / "mine"
    (yours / "sub").mkdir(parents=True)
    (yours / "sub" / "hopper.jpg").write_bytes(sample_photos[1].read_bytes())
    output = tmp_path / "demo"
    assert cli(["demo", "--no-app", "--output", str(output), "--model", str(tmp_path / "none"),
                "--images", str(yours)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "ldfa method skipped" in line]
    assert len(lines) == 1 and "none" in lines[0]
    dataset = fo.load_dataset("ldfa-demo")
    assert not dataset.has_field("anon_ldfa") and dataset.count("anon_pixelate") == 3
    written = output / "anon_pixelate" / "mine" / "sub" / "hopper.jpg"
    assert str(written) in dataset.values("anon_pixelate")
    assert (yours / "sub" / "hopper.jpg").read_bytes() == sample_photos[1].read_bytes()


def test_ctrl_c_ends_the_demo_and_its_app(fo, tmp_path):
    """The demo serves the App until Ctrl-C; then it ends, and the App's server and port with it."""
    demo, url = launched(["demo", "--output", str(tmp_path / "demo"), "--port", str(free_port())], tmp_path)
    with urllib.request.urlopen(url, timeout=60) as page:
        assert page.status == 200
    app = app_processes(demo.pid, url)
    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=120) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    assert_app_stopped(app, url)


@pytest.mark.parametrize("ending, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -9)])
def test_the_app_stops_with_its_launcher(fo, sample_photos, tmp_path, ending, code):
    """`ldfa.launch_audit` stops the App server before it exits on SIGTERM and SIGHUP; a killed
    launcher cannot, and FiftyOne's service process (which watches its launcher) stops it soon after."""
    dataset = fo.Dataset(f"launched-{tmp_path.name}", persistent=True)
    try:
        dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
        launcher, url = launched(["-c", "import sys, fiftyone as fo, ldfa\n"
                                 "ldfa.launch_audit(fo.load_dataset(sys.argv[1]), port=int(sys.argv[2]))",
                                 dataset.name, str(free_port())], tmp_path, cli=False)
        app = app_processes(launcher.pid, url)
        launcher.send_signal(ending)
        assert launcher.wait(timeout=120) == code, (tmp_path / "stderr.txt").read_text()[-3000:]
        assert_app_stopped(app, url, within=30 if ending == signal.SIGKILL else 0)
    finally:
        dataset.delete()


def test_a_launcher_never_joins_the_app_of_another_process(fo, dataset):
    """FiftyOne would attach to a server already on the port, which then would not stop with ours."""
    from ldfa.operators.launch import launch_audit
    from ldfa.plugin.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match=f"port {taken.getsockname()[1]} .* is taken"):
            launch_audit(dataset, port=taken.getsockname()[1], address="127.0.0.1")


def launched(args: list[str], folder, cli: bool = True) -> tuple[subprocess.Popen, str]:
    """A launcher (``ldfa ARGS``, or ``python ARGS``) started until it prints the App's address."""
    command = [sys.executable, *(["-c", "import sys; from ldfa.cli import main; sys.exit(main())"] if cli else []),
               *args]
    with (folder / "stderr.txt").open("w") as err:
        launcher = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=err, text=True)
    watchdog = threading.Timer(600, launcher.kill)
    watchdog.start()
    try:
        for row in launcher.stdout:
            found = re.search(r"App: (http\S+)", row)
            if found:
                return launcher, found.group(1)
    finally:
        watchdog.cancel()
    raise AssertionError(f"ended ({launcher.wait()}) without serving the App: "
                         f"{(folder / 'stderr.txt').read_text()[-3000:]}")
