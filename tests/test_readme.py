"""The README's and docs' examples keep working: every import in their Python blocks resolves, every ``relvec``
command line in their shell blocks parses (running them is the integration tests' and make demo's job), and
every relative link points at a file that exists."""

import importlib
import re
import shlex
from pathlib import Path

import pytest

from relvec.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "RESULTS.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page: page.read_text(encoding="utf-8") for page in PAGES}
README = TEXTS[ROOT / "README.md"]
BLOCKS = [
    (kind, body.replace("\\\n", " "))
    for text in TEXTS.values()
    for kind, body in re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)
]
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
    assert len(README.splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", TEXTS[page]):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_readme_links_every_docs_page():
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in README, f"README does not link docs/{page.name}"


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
