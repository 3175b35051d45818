"""Which files a scan analyses: .gitignore, exclude globs, stubs, symlink loops, --diff."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codegraph.files import (
    ExcludeRules,
    PathNotFound,
    collect_files,
    display_path,
    find_git_root,
    parse_unified_diff,
)


def _touch(root: Path, *names: str) -> None:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x = 1\n")


def _names(files: list[Path], root: Path) -> list[str]:
    return sorted(f.relative_to(root).as_posix() for f in files)


def test_walks_py_files_only_and_skips_stubs_and_tool_dirs(tmp_path: Path) -> None:
    _touch(tmp_path, "a.py", "b.pyi", "c.txt", "pkg/d.py", ".venv/lib/e.py", "__pycache__/f.py", ".git/g.py")
    assert _names(collect_files([tmp_path]).files, tmp_path) == ["a.py", "pkg/d.py"]


def test_gitignore_files_apply_per_directory_with_negation(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    _touch(tmp_path, "keep.py", "build/out.py", "gen_a.py", "pkg/gen_b.py", "pkg/gen_keep.py", "pkg/sub/x.py")
    (tmp_path / ".gitignore").write_text("build/\ngen_*.py\n")
    (tmp_path / "pkg" / ".gitignore").write_text("!gen_keep.py\nsub\n")
    assert _names(collect_files([tmp_path]).files, tmp_path) == ["keep.py", "pkg/gen_keep.py"]
    # scanning a subdirectory still honours the .gitignore above it
    assert _names(collect_files([tmp_path / "pkg"]).files, tmp_path) == ["pkg/gen_keep.py"]


def test_gitignore_outside_a_git_repo_is_not_read(tmp_path: Path) -> None:
    _touch(tmp_path, "gen_a.py")
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    assert _names(collect_files([tmp_path]).files, tmp_path) == ["gen_a.py"]


def test_exclude_globs_are_anchored_at_their_base(tmp_path: Path) -> None:
    _touch(tmp_path, "src/a.py", "tests/fixtures/b.py", "tests/test_c.py", "examples/d.py")
    rules = ExcludeRules()
    rules.add(["tests/**/fixtures/**", "examples"], tmp_path)
    assert _names(collect_files([tmp_path], rules).files, tmp_path) == ["src/a.py", "tests/test_c.py"]
    # named files are excluded too (pre-commit passes files one by one)
    assert collect_files([tmp_path / "examples" / "d.py"], rules).files == []


def test_a_named_directory_is_scanned_even_when_a_glob_covers_it(tmp_path: Path) -> None:
    _touch(tmp_path, "examples/a.py", "examples/sub/b.py", "examples/fixtures/c.py", "examples/gen_d.py")
    rules = ExcludeRules()
    rules.add(["examples/**", "**/fixtures/**", "gen_*.py"], tmp_path)
    assert collect_files([tmp_path], rules).files == []
    got = collect_files([tmp_path / "examples"], rules).files
    assert _names(got, tmp_path) == ["examples/a.py", "examples/sub/b.py"]
    assert _names(collect_files([tmp_path / "examples" / "sub"], rules).files, tmp_path) == [
        "examples/sub/b.py"
    ]


def test_named_files_are_taken_whatever_the_suffix_but_not_stubs(tmp_path: Path) -> None:
    _touch(tmp_path, "script", "stub.pyi")
    got = collect_files([tmp_path / "script", tmp_path / "stub.pyi", tmp_path / "script"]).files
    assert _names(got, tmp_path) == ["script"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PathNotFound, match="no such file"):
        collect_files([tmp_path / "nope"])


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_symlink_loops_end_and_files_are_taken_once(tmp_path: Path) -> None:
    _touch(tmp_path, "pkg/a.py")
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "alias").symlink_to(tmp_path / "pkg", target_is_directory=True)
    files = collect_files([tmp_path]).files
    assert len(files) == 1 and files[0].name == "a.py"


def test_unreadable_directory_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    _touch(tmp_path, "locked/a.py", "b.py")
    (tmp_path / "locked").chmod(0)
    try:
        out = collect_files([tmp_path])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert _names(out.files, tmp_path) == ["b.py"] and "cannot read directory" in out.errors[0].message


def test_display_path(tmp_path: Path) -> None:
    assert display_path(tmp_path / "a" / "b.py", tmp_path) == "a/b.py"
    assert display_path(Path("/elsewhere/c.py"), tmp_path) == "/elsewhere/c.py"


def test_find_git_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    _touch(tmp_path, "a/b/c.py")
    assert find_git_root(tmp_path / "a" / "b" / "c.py") == tmp_path.resolve()


def test_parse_unified_diff(tmp_path: Path) -> None:
    diff = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -3 +3 @@\n-x\n+y\n"
        "@@ -10,0 +11,2 @@\n+a\n+b\n@@ -20,3 +21,0 @@\n-c\n-d\n-e\n"
        "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\nindex 1111111..0000000\n"
        "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
    )
    changed = parse_unified_diff(diff, tmp_path)
    assert changed == {(tmp_path / "m.py").resolve(): {3, 11, 12}}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_changed_lines_from_git(tmp_path: Path) -> None:
    from codegraph.files import GitError, changed_lines

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "a.py").write_text("a = 1\nb = 2\nc = 3\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    (tmp_path / "a.py").write_text("a = 1\nb = 20\nc = 3\nd = 4\n")
    (tmp_path / "new.py").write_text("n = 1\n")
    changed = changed_lines("HEAD", [tmp_path])
    assert changed[(tmp_path / "a.py").resolve()] == {2, 4}
    assert changed[(tmp_path / "new.py").resolve()] is None
    with pytest.raises(GitError, match="git diff failed"):
        changed_lines("no-such-ref", [tmp_path])


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
@pytest.mark.parametrize(
    "config",
    [
        {"diff.mnemonicPrefix": "true"},
        {"diff.noprefix": "true"},
        {"color.diff": "always", "color.ui": "always"},
        {"diff.external": "false", "diff.relative": "true"},
    ],
)
def test_changed_lines_whatever_the_git_configuration(tmp_path: Path, config: dict[str, str]) -> None:
    from codegraph.files import changed_lines

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a b.py").write_text("a = 1\nb = 2\n")
    (tmp_path / 'q"uote.py').write_text("q = 1\n")
    git("add", ".")
    git("commit", "-qm", "one")
    for key, value in config.items():
        git("config", key, value)
    (tmp_path / "sub" / "a b.py").write_text("a = 1\nb = 20\nc = 3\n")
    (tmp_path / 'q"uote.py').write_text("q = 2\n")
    changed = changed_lines("HEAD", [tmp_path / "sub", tmp_path])
    assert changed == {
        (tmp_path / "sub" / "a b.py").resolve(): {2, 3},
        (tmp_path / 'q"uote.py').resolve(): {1},
    }


# -- reading: never block, never read without end ------------------------------------------------
def test_read_regular_file_reads_up_to_the_limit(tmp_path: Path) -> None:
    from codegraph.files import SourceTooLarge, read_regular_file

    f = tmp_path / "m.py"
    f.write_bytes(b"x" * 100)
    assert read_regular_file(f, 100) == b"x" * 100
    with pytest.raises(SourceTooLarge, match=r"file too large \(101 bytes; limit 100\)"):
        f.write_bytes(b"x" * 101)
        read_regular_file(f, 100)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_on_the_command_line_is_an_error_not_a_hang(tmp_path: Path, kind: str) -> None:
    import json
    import sys

    if kind == "fifo":
        target = tmp_path / "pipe.py"
        os.mkfifo(target)
        expected = "not a regular file (a FIFO)"
    else:
        target = Path("/dev/zero")
        expected = "not a regular file (a device)"
    (tmp_path / "ok.py").write_text("x = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "codegraph", "scan", str(target), "ok.py", "--format", "json", "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"] == [{"path": str(target) if kind == "device" else "pipe.py", "message": expected}]
    assert data["stats"]["files"] == 2
