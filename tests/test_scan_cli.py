"""`codegraph scan`'s conventions from ruff: exit-zero, statistics, quiet, concise, stdin, add-noqa,
show-settings / show-files, no flag abbreviations and a "did you mean" for typos.

The detector is the test double of doubles.py (each function's first CG001 candidate at 0.98).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegraph import scan
from codegraph.config import Settings
from codegraph.pipeline import Analyzer

sys.path.insert(0, str(Path(__file__).parent))
from doubles import FirstOf

CONCISE = [
    "pkg/geometry.py:6:12: CG001 [variable-misuse] `width` is used here, but `height` looks intended "
    "(confidence 98%)",
    "pkg/geometry.py:10:8: CG001 [variable-misuse] `a` is used here, but `b` looks intended (confidence 98%)",
    "pkg/util.py:2:12: CG001 [variable-misuse] `value` is used here, but `factor` looks intended "
    "(confidence 98%)",
]


def run(args: list[str], capsys, predictor: FirstOf | None = None) -> tuple[int, str, str]:
    analyzer = Analyzer(Settings(), predictor=predictor or FirstOf())
    rc = scan.main(["--no-progress", "--no-cache", *args], analyzer=analyzer)
    out, err = capsys.readouterr()
    return rc, out, err


def test_exit_zero(tree: Path, capsys) -> None:
    rc, out, _ = run(["pkg", "--exit-zero"], capsys)
    assert rc == 0 and out.rstrip().splitlines()[-1].startswith("Found 3 findings")
    (tree / "pkg" / "broken.py").write_text("def f(:\n")
    assert run(["pkg", "--exit-zero", "--format", "json"], capsys)[0] == 0


def test_concise_is_one_line_per_finding_and_format_keeps_working(tree: Path, capsys) -> None:
    rc, out, _ = run(["pkg", "--output-format", "concise"], capsys)
    lines = out.splitlines()
    assert rc == 1 and lines[:3] == CONCISE and lines[3] == "" and lines[4].startswith("Found 3 findings")
    assert len(lines) == 5
    assert run(["pkg", "--format", "concise"], capsys)[1].splitlines()[:4] == lines[:4]
    full = run(["pkg", "--output-format", "full"], capsys)[1]
    assert full.splitlines()[:-1] == run(["pkg", "--format", "text"], capsys)[1].splitlines()[:-1]
    assert "  = fix: replace `" in full and full.splitlines()[0] == CONCISE[0]
    rc, out, _ = run(["pkg", "--format", "json"], capsys)
    assert rc == 1 and len(json.loads(out)["findings"]) == 3


def test_quiet_prints_the_findings_only(tree: Path, capsys) -> None:
    rc, out, _ = run(["pkg", "-q", "--format", "concise"], capsys)
    assert rc == 1 and out.splitlines() == CONCISE
    rc, out, _ = run(["pkg", "--quiet", "--min-confidence", "0.99"], capsys)
    assert rc == 0 and out == ""


def test_statistics(tree: Path, capsys) -> None:
    rc, out, _ = run(["pkg", "--statistics"], capsys)
    assert rc == 1 and out == "3  CG001  variable-misuse\n"
    rc, out, _ = run(["pkg", "--statistics", "--format", "json"], capsys)
    assert json.loads(out) == [{"code": "CG001", "name": "variable-misuse", "count": 3}]
    rc, _, err = run(["pkg", "--statistics", "--format", "sarif"], capsys)
    assert rc == 2 and "--statistics prints text or json" in err


def test_stdin_with_a_filename(tree: Path, capsys, monkeypatch) -> None:
    text = (tree / "pkg" / "geometry.py").read_text()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    (tree / "pkg" / "geometry.py").write_text("# the file on disk differs from the editor's buffer\n")
    rc, out, _ = run(["-", "--stdin-filename", "pkg/geometry.py", "--format", "concise", "-q"], capsys)
    assert rc == 1 and out.splitlines() == CONCISE[:2]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"def f(a, b):\n    return a - a\n")))
    rc, out, _ = run(["-", "--format", "json"], capsys)
    assert [f["path"] for f in json.loads(out)["findings"]] == ["stdin.py"]
    assert run(["-", "pkg"], capsys)[2].endswith("`-` (stdin) cannot be combined with other paths\n")
    assert "--stdin-filename needs PATH `-`" in run(["pkg", "--stdin-filename", "x.py"], capsys)[2]


def test_show_settings_and_show_files_analyse_nothing(tree: Path, capsys) -> None:
    (tree / "codegraph.toml").write_text('min-confidence = 0.5\nextend-exclude = ["pkg/quiet.py"]\n')
    predictor = FirstOf()
    rc, out, _ = run(["pkg", "--show-settings"], capsys, predictor)
    assert rc == 0 and predictor.units_seen == []
    lines = out.splitlines()
    assert lines[0] == f"# configuration file: {tree.resolve() / 'codegraph.toml'}"
    assert "min-confidence = 0.5" in lines and 'extend-exclude = ["pkg/quiet.py"]' in lines
    rc, out, _ = run(["pkg", "--show-files", "--extend-exclude", "pkg/__init__.py"], capsys, predictor)
    assert rc == 0 and out.splitlines() == ["pkg/geometry.py", "pkg/util.py"] and predictor.units_seen == []


def test_flags_are_never_abbreviated_and_typos_get_a_suggestion(tree: Path, capsys) -> None:
    rc, _, err = run(["pkg", "--min-conf", "0.5"], capsys)
    assert rc == 2
    assert "unrecognized arguments: --min-conf (did you mean '--min-confidence'?)" in err
    rc, _, err = run(["pkg", "--exit-zro"], capsys)
    assert rc == 2 and "(did you mean '--exit-zero'?)" in err
    rc, _, err = run(["pkg", "--format", "jsno"], capsys)
    assert rc == 2 and "(did you mean 'json'?)" in err
    rc, _, err = run(["pkg", "--select", "CG01"], capsys)
    assert (
        rc == 2 and "unknown rule code 'CG01' in `--select` (did you mean 'CG001', variable-misuse?)" in err
    )


# -- --add-noqa ----------------------------------------------------------------------------------
def test_add_noqa_suppresses_todays_findings(tree: Path, capsys) -> None:
    geometry = tree / "pkg" / "geometry.py"
    geometry.write_text(
        geometry.read_text().replace("    return width * width", "    return width * width  # area")
    )
    rc, out, _ = run(["pkg", "--add-noqa"], capsys)
    assert rc == 0 and out == "Added 3 noqa directives to 2 files.\n"
    lines = geometry.read_text().splitlines()
    assert lines[5] == "    return width * width  # area  # noqa: CG001"
    assert lines[9] == "    if a > b:  # noqa: CG001"
    assert (
        tree / "pkg" / "util.py"
    ).read_text() == "def scale(value, factor):\n    return value * factor  # noqa: CG001\n"
    rc, out, _ = run(["pkg"], capsys)
    assert rc == 0 and out.startswith("No findings")


def test_add_noqa_keeps_codes_encoding_line_ends_and_links(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    real = tmp_path / "real.py"
    real.write_bytes(
        "# -*- coding: latin-1 -*-\r\ndef f(a, b):\r\n    return a - a  # noqa: E501, CG002 \xe9\r\n".encode(
            "latin-1"
        )
    )
    real.chmod(0o640)
    (tmp_path / "link.py").symlink_to(real)
    rc, _, _ = run(["link.py", "--add-noqa"], capsys)
    assert rc == 0 and (tmp_path / "link.py").is_symlink()
    assert real.read_bytes() == (
        "# -*- coding: latin-1 -*-\r\ndef f(a, b):\r\n    return a - a  # noqa: E501, CG002, CG001 \xe9\r\n"
    ).encode("latin-1")
    assert real.stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".codegraph-tmp")]


def test_add_noqa_leaves_lines_that_cannot_take_a_comment(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = 'def f(a, b):\n    return a - a + len("""x\n""")\n\n\ndef g(c, d):\n    return c - \\\n        c\n'
    text += "\n\ndef h(e, f):\n    return e - e  # a comment that ends in \\\n"
    (tmp_path / "m.py").write_text(text)
    rc, out, err = run(["m.py", "--add-noqa"], capsys)
    assert rc == 0 and out == "Added 1 noqa directive to 1 file.\n"
    assert "m.py:2: CG001: the line cannot take a comment; left alone" in err
    assert "m.py:7: CG001: the line cannot take a comment; left alone" in err
    noqa = "    return e - e  # a comment that ends in \\  # noqa: CG001"
    assert (tmp_path / "m.py").read_text() == text.replace(text.splitlines()[-1], noqa)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_sarif_srcroot_is_the_git_root_from_any_folder(tree: Path, capsys, monkeypatch) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    monkeypatch.chdir(tree / "pkg")
    rc, out, _ = run(["util.py", "--format", "sarif"], capsys)
    assert rc == 1
    run_ = json.loads(out)["runs"][0]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tree.resolve().as_uri() + "/"
    assert run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/util.py"
    _, out, _ = run(["util.py", "--format", "sarif", "--project-root", os.fspath(tree / "pkg")], capsys)
    loc = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "util.py", "uriBaseId": "%SRCROOT%"}


def test_readme_and_help_document_every_flag_and_key(capsys) -> None:
    import tomllib

    from codegraph import REPOSITORY_URL
    from codegraph.config import KEYS

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert scan.main(["--help"]) == 0
    help_text = capsys.readouterr().out
    flags = [o for a in scan.build_parser()._actions for o in a.option_strings if o.startswith("--")]
    assert [f for f in flags if f"`{f}" not in readme and f != "--help"] == []
    assert all(f in help_text for f in flags)
    assert [k for k in KEYS if f"{k} =" not in readme or k not in help_text] == []
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["urls"]["Repository"] == REPOSITORY_URL
    assert f"repo: {REPOSITORY_URL}" in readme


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
     ({"FORCE_COLOR": "1", "TERM": "dumb"}, False)],
)  # fmt: skip
def test_colour_follows_the_terminal_and_the_environment(
    monkeypatch, env: dict[str, str], expected: bool
) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert scan._use_color(io.StringIO()) is expected
