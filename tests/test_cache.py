"""The result cache: keys, context hashing of imports, round trips, read-only checkouts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codegraph.cache import (
    CACHE_DIR_NAME,
    Cache,
    ContextHasher,
    ImportRef,
    cache_key,
    imports_of,
    resolve_imports,
    settings_key,
)
from codegraph.config import Settings
from codegraph.findings import FileError, Finding, Fix, Related
from codegraph.pipeline import FileAnalysis
from codegraph.project import Project


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_imports_of() -> None:
    src = (
        b"import a.b as c, d\nfrom . import x\nfrom ..m.n import y as z, w\nfrom q import *\n"
        b"def f():\n    import lazy\n"
    )
    assert imports_of(src) == [
        ImportRef("a.b", 0), ImportRef("d", 0), ImportRef("", 1, ("x",)), ImportRef("m.n", 2, ("y", "w")),
        ImportRef("q", 0, ()), ImportRef("lazy", 0),
    ]  # fmt: skip
    assert imports_of(b"\x00binary") == []


def test_resolve_imports(tmp_path: Path) -> None:
    names = ("pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "pkg/sub/b.py", "src/lib.py")
    _write(tmp_path, dict.fromkeys(names, ""))
    me = tmp_path / "pkg" / "sub" / "b.py"
    refs = imports_of(
        b"from .. import a\nfrom . import missing_name\nimport pkg.a\nimport lib\nimport numpy\n"
    )
    found, missing = resolve_imports(Project(tmp_path), me, refs)
    rel = sorted({f.relative_to(tmp_path).as_posix() for f in found})
    assert rel == ["pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "src/lib.py"]
    assert missing == ["numpy"]


def test_context_hash_changes_with_imported_files_only(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "from .impl import helper\n",
        "pkg/impl.py": "def helper(a, b): ...\n",
        "main.py": "from pkg import helper\n",
        "other.py": "x = 1\n",
    })  # fmt: skip
    main = tmp_path / "main.py"
    source = main.read_bytes()

    def h() -> str:
        return ContextHasher(tmp_path).context_hash(main, source)

    first = h()
    (tmp_path / "other.py").write_text("x = 2\n")
    assert h() == first
    (tmp_path / "pkg" / "impl.py").write_text("def helper(b, a): ...\n")  # re-exported through __init__
    assert h() != first


def test_context_hash_changes_when_an_import_starts_to_resolve(tmp_path: Path) -> None:
    _write(tmp_path, {"main.py": "import helpers\n"})
    main = tmp_path / "main.py"
    before = ContextHasher(tmp_path).context_hash(main, main.read_bytes())
    _write(tmp_path, {"helpers.py": "def f(): ...\n"})
    assert ContextHasher(tmp_path).context_hash(main, main.read_bytes()) != before


def test_imports_resolve_as_the_project_resolves_them(tmp_path: Path) -> None:
    """The one import resolver is the project's: a file it does not index is no dependency."""
    _write(tmp_path, {"main.py": "import helpers\nfrom pkg import mod\n", "helpers.py": "", "pkg/mod.py": ""})
    main = tmp_path / "main.py"
    full = ContextHasher(tmp_path).dependencies(main, main.read_bytes())
    assert {f.name for f in full[0]} == {"helpers.py", "mod.py"} and full[1] == {"pkg"}  # a namespace
    only = Project(files=[main, tmp_path / "pkg" / "mod.py"], root=tmp_path)
    files, missing = ContextHasher(tmp_path, only).dependencies(main, main.read_bytes())
    assert {f.name for f in files} == {"mod.py"} and missing == {"helpers", "pkg"}


def test_key_parts() -> None:
    parts = [(b"x", "ctx", "model", "s"), (b"y", "ctx", "model", "s"), (b"x", "c2", "model", "s"),
             (b"x", "ctx", "m2", "s"), (b"x", "ctx", "model", "s2")]  # fmt: skip
    assert len({cache_key(*p) for p in parts}) == 5
    # the threshold is applied after the cache; rules and budget change raw results
    assert settings_key(Settings(min_confidence=0.1)) == settings_key(Settings(min_confidence=0.9))
    assert settings_key(Settings(ignore=frozenset({"CG001"}))) != settings_key(Settings())
    assert settings_key(Settings(budget=10)) != settings_key(Settings())


def _analysis(root: Path) -> FileAnalysis:
    path = str(root / "m.py")
    related = (Related(str(root / "other.py"), 1, 1, "here"), Related("/abs/x.py", 3, 1, "there"))
    fix = Fix(2, 5, 2, 6, "b")
    f = Finding(path, 2, 5, 2, 6, "CG001", "variable-misuse", "msg", 0.123456789, "m.f", fix, related)
    return FileAnalysis(path, [f], [FileError(path, "syntax error")], functions=3, lines=10)


def test_round_trip_keeps_exact_confidence_and_relocates_paths(tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    Cache(root).put("ab" * 32, _analysis(root))
    assert (root / CACHE_DIR_NAME / ".gitignore").read_text().strip().endswith("*")
    moved = tmp_path / "b"
    os.rename(root, moved)
    got = Cache(moved).get("ab" * 32)
    assert got == _analysis(moved)
    assert Cache(moved, enabled=False).get("ab" * 32) is None
    assert Cache(moved).get("cd" * 32) is None


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("ab" * 32, _analysis(tmp_path))
    entry = next((tmp_path / CACHE_DIR_NAME).rglob("ab*.json"))
    entry.write_text("{not json")
    assert cache.get("ab" * 32) is None and cache.misses == 1


def test_unwritable_cache_turns_itself_off(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the cache directory would go")
    cache = Cache(tmp_path, directory=tmp_path / "blocker" / "cache")
    cache.put("ab" * 32, _analysis(tmp_path))
    assert not cache.enabled and "cache disabled" in (cache.warning or "")


# -- entries are validated on read and never answer for another file ----------------------------
def _stored(tmp_path: Path) -> tuple[Cache, Path, dict]:
    import json

    cache = Cache(tmp_path)
    cache.put("ab" * 32, _analysis(tmp_path))
    entry = next((tmp_path / CACHE_DIR_NAME).rglob("ab*.json"))
    return cache, entry, json.loads(entry.read_text())


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["findings"][0].update(line="27"),
        lambda d: d["findings"][0].update(line=None),
        lambda d: d["findings"][0].update(line=0),
        lambda d: d["findings"][0].update(column=True),
        lambda d: d["findings"][0]["fix"].update(end_column=None),
        lambda d: d["findings"][0]["fix"].update(replacement=["x"]),
        lambda d: d["findings"][0].update(confidence="0.9"),
        lambda d: d["findings"][0].update(confidence=float("nan")),
        lambda d: d["findings"][0].update(confidence=1.5),
        lambda d: d["findings"][0].update(rule="CG999"),
        lambda d: d["findings"][0].update(related=None),
        lambda d: d["findings"][0]["related"][0].update(line="1"),
        lambda d: d["findings"][0].update(path="./elsewhere.py"),
        lambda d: d["errors"].append({"path": "./m.py"}),
        lambda d: d.update(functions="3"),
        lambda d: d.update(findings={}),
        lambda d: d.clear(),
    ],
)
def test_wrongly_typed_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage) -> None:
    import json

    cache, entry, data = _stored(tmp_path)
    damage(data)
    entry.write_text(json.dumps(data))
    assert cache.get("ab" * 32) is None and cache.misses == 1
    cache.put("ab" * 32, _analysis(tmp_path))
    assert cache.get("ab" * 32) == _analysis(tmp_path)


def test_non_object_entries_are_misses(tmp_path: Path) -> None:
    cache, entry, _ = _stored(tmp_path)
    for text in ("[]", "null", "3", '"x"', "[" * 100_000):
        entry.write_text(text)
        assert cache.get("ab" * 32) is None
    assert cache.misses == 5


def test_an_entry_is_only_returned_for_its_own_file(tmp_path: Path) -> None:
    cache, _, _ = _stored(tmp_path)
    assert cache.get("ab" * 32, tmp_path / "m.py") == _analysis(tmp_path)
    assert cache.get("ab" * 32, tmp_path / "other.py") is None


def test_same_text_in_two_files_gives_two_keys(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "def f(x, y):\n    return x - y\n", "b.py": "def f(x, y):\n    return x - y\n"})
    hasher = ContextHasher(tmp_path)
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    assert hasher.context_hash(a, a.read_bytes()) != hasher.context_hash(b, b.read_bytes())


class _FirstCandidate:
    """Test double: every function's first candidate, first repair, at confidence 0.98."""

    name, sha256 = "fixed", "f" * 64

    def predict(self, units):
        from types import SimpleNamespace

        out = []
        for u in units:
            loc = [0.98] + [0.0] * (len(u.candidates) - 1)
            reps = [[1.0] + [0.0] * (len(c.repairs) - 1) for c in u.candidates]
            out.append(SimpleNamespace(p_no_bug=0.02, loc_probs=loc, rep_probs=reps))
        return out


def test_same_content_files_keep_their_own_findings_on_a_warm_scan(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import json

    from codegraph import scan
    from codegraph.pipeline import Analyzer

    text = "def total(a, b):\n    return a + b\n"
    _write(tmp_path, {"one.py": text, "two.py": text, "pyproject.toml": "[tool.codegraph]\n"})
    monkeypatch.chdir(tmp_path)

    def report() -> list[tuple[str, str, int]]:
        analyzer = Analyzer(Settings(), predictor=_FirstCandidate())
        assert scan.main(["--no-progress", "--format", "json", "."], analyzer=analyzer) == 1
        data = json.loads(capsys.readouterr().out)
        return sorted((f["path"], f["function"], f["line"]) for f in data["findings"])

    cold = report()
    assert [(p, fn) for p, fn, _ in cold] == [("one.py", "one.total"), ("two.py", "two.total")]
    assert report() == cold  # warm: every file answered from the cache, each with its own findings
