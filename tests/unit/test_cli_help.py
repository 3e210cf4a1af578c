"""The command line before any command runs: instant help from the config declarations."""

import subprocess
import sys

import pytest

from ldfa.cli import build_parser
from ldfa.cli import main as cli
from ldfa.plugin.anonymization.config import AnonymizationConfig, DiffusionConfig
from ldfa.plugin.engines.config import EngineConfig
from ldfa.plugin.models.detector.config import DetectorConfig
from ldfa.plugin.options import options


def test_help_imports_neither_torch_nor_fiftyone():
    """`ldfa --help` reads defaults from the torch-free config modules; no model, no database."""
    code = ("import sys, ldfa, ldfa.cli; ldfa.cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'fiftyone', 'diffusers', 'onnxruntime') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_version_and_a_help_line_for_every_option_and_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["--version"])
    assert exit_info.value.code == 0
    from ldfa import __version__

    assert capsys.readouterr().out.strip() == f"ldfa {__version__}"
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"ldfa {name} {'/'.join(action.option_strings) or action.dest}"
    assert all(choice.help for choice in commands._choices_actions)


def flags_of(command: str) -> dict[str, str]:
    """The options of ``ldfa <command>``: flag -> destination."""
    [commands] = [a for a in build_parser()._actions if a.dest == "command"]
    return {flag: a.dest for a in commands.choices[command]._actions for flag in a.option_strings}


@pytest.mark.parametrize("command, configs", [
    ("detect", [DetectorConfig, EngineConfig]),
    ("anonymize", [AnonymizationConfig, DiffusionConfig, EngineConfig]),
    ("run", [AnonymizationConfig, DiffusionConfig, EngineConfig]),
])
def test_every_config_field_is_an_option_of_its_command(command, configs):
    """A field declared once in its config reaches the command line with no other edit."""
    flags = flags_of(command)
    for config in configs:
        for opt in options(config):
            assert flags.get(opt.flag) == opt.name, f"ldfa {command} lacks {opt.flag}"
