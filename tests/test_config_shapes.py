"""Configuration of the wrong shape is a one-line configuration error (exit status 2), never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codegraph import scan
from codegraph.config import ConfigError, load_settings
from codegraph.files import GitIgnore


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("tool = 3\n", "`tool` must be a table ([tool.codegraph]), got int"),
        ('tool = "codegraph"\n', "`tool` must be a table ([tool.codegraph]), got str"),
        ("[tool]\ncodegraph = 3\n", "[tool.codegraph] must be a table"),
        ('[tool.codegraph]\nexclude = ["!"]\n', "`exclude` holds an invalid glob pattern: '!'"),
        (
            "[tool.codegraph]\nbudget = 0\n",
            "`budget` must be at least 100 graph nodes per unit (default 1500), got 0",
        ),
    ],
)
def test_wrong_shapes_are_configuration_errors(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    with pytest.raises(
        ConfigError, match="^" + str(tmp_path / "pyproject.toml").replace("\\", "\\\\")
    ) as err:
        load_settings(tmp_path)
    assert str(err.value).endswith(message)


@pytest.mark.parametrize(
    "toml", ["tool = 3\n", 'tool = "codegraph"\n', '[tool.codegraph]\nexclude = ["!"]\n']
)
def test_the_scan_exits_2_with_one_line(tmp_path: Path, toml: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / "m.py").write_text("x = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "codegraph", "scan", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("codegraph scan: error: ")
    assert "internal error" not in proc.stderr


def test_an_invalid_exclude_flag_is_a_usage_error(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert scan.main(["m.py", "--exclude", "!"]) == 2
    assert capsys.readouterr().err == "codegraph scan: error: --exclude: invalid glob pattern '!'\n"


def test_a_gitignore_with_an_invalid_line_skips_that_line_as_git_does(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("!\nbuild/\n")
    spec = GitIgnore(tmp_path)._spec(tmp_path)
    assert spec is not None and spec.match_file("build/x.py") and not spec.match_file("src/x.py")
