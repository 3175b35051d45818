"""Every file of the Python standard library becomes a code graph without an exception."""

import sysconfig
from pathlib import Path

import pytest

from codegraph.graph import build_file_graph
from codegraph.syntax import SourceError


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


@pytest.mark.slow
def test_every_stdlib_file_builds():
    files = stdlib_files()
    assert len(files) > 500
    built = rejected = 0
    for path in files:
        data = path.read_bytes()
        try:
            g = build_file_graph(data, str(path))
        except SourceError:
            rejected += 1  # a few test fixtures are deliberately not UTF-8
            continue
        assert g.num_nodes >= 1
        built += 1
    assert rejected < 10
    assert built == len(files) - rejected
