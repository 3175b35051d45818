"""No tracked file holds a line of a merge conflict."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(rb"^(<{7} |>{7} |={7}$)", re.M)


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_has_conflict_markers() -> None:
    bad = []
    for path in _tracked():
        if path.suffix in {".onnx", ".safetensors", ".png", ".gz"} or not path.is_file():
            continue
        if MARKER.search(path.read_bytes()):
            bad.append(str(path.relative_to(ROOT)))
    assert bad == []
