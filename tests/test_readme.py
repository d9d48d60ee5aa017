"""The README's examples keep working: every import in its Python blocks resolves, and every ``relvec``
command line in its shell blocks parses (running them is the integration tests' and make demo's job)."""

import importlib
import re
import shlex
from pathlib import Path

import pytest

from relvec.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = [(kind, body.replace("\\\n", " ")) for kind, body in re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)]
IMPORTS = sorted(
    {
        line.strip()
        for kind, body in BLOCKS
        if kind == "python"
        for line in body.splitlines()
        if re.match(r"\s*from relvec[\w.]* import ", line)
    }
)
COMMANDS = [
    line.split(" #")[0].strip()
    for kind, body in BLOCKS
    if kind == "bash"
    for line in body.splitlines()
    if line.startswith("relvec ")
]


def test_the_readme_has_examples():
    assert len(IMPORTS) >= 5 and len(COMMANDS) >= 10


@pytest.mark.parametrize("line", IMPORTS)
def test_python_imports_resolve(line):
    module, names = re.match(r"from (\S+) import (.+)", line).groups()
    loaded = importlib.import_module(module)
    for name in (n.strip() for n in names.split(",")):
        assert hasattr(loaded, name), f"{module} has no {name}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_lines_parse(command):
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.handler)
