"""Per-file result cache: unchanged files are not analysed again.

Key (sha256 over, in order):

1. the file's bytes;
2. its context, which is what the unit builder may read besides the file itself: it
   takes cross-file evidence (callee parameters, class headers, module-level
   definitions) from the modules the file imports. Hashed are the files it imports
   directly, resolved by the project's module table as the analysis resolves them
   (:meth:`codegraph.project.Project.import_files`; ``from pkg import name`` also names
   the submodule ``pkg.name``), plus, transitively, what package ``__init__.py`` files
   among them import (re-exports), as ``(relative path, sha256 of the content)`` pairs in
   sorted order; the names of imports that resolve to no project file (so a module that
   appears later changes the key); the file's own path relative to the project root and its
   module name (module and function names depend on both; two files with the same
   text never share an entry). A change two plain-module imports away
   does not invalidate an entry (``--no-cache`` is the escape hatch);
3. the model's sha256;
4. the settings that change raw results: the enabled rules (they decide which
   candidate is a function's best), the node budget, the codegraph version and the
   cache format.

The value is the *raw* analysis — every function's best finding, before the
confidence threshold, ``--diff`` and baselines are applied (``# noqa`` is applied, it
depends on the file's bytes only) — so changing ``--min-confidence`` needs no
re-analysis. An entry is checked on read against the exact shape :func:`encode` writes (types,
1-based positions, known rules, confidence in 0..1, findings of the file it was looked up for);
anything else is a miss and is rewritten. Entries are JSON files under
``<project root>/.codegraph_cache/v1/``; the directory carries its own ``.gitignore``
(``*``) and a ``CACHEDIR.TAG``. Paths inside entries are stored relative to the project
root, so a moved checkout keeps its cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tree_sitter import Node, Query, QueryCursor

from codegraph import __version__
from codegraph.config import Settings
from codegraph.findings import ErrorKind, FileError, Finding, Fix, Related
from codegraph.pipeline import FileAnalysis
from codegraph.rules import RULES_BY_CODE
from codegraph.syntax import SourceError, language, parse

if TYPE_CHECKING:
    from codegraph.project import Project

CACHE_DIR_NAME = ".codegraph_cache"
CACHE_FORMAT = 2
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# codegraph result cache; see codegraph/cache.py\n"

_IMPORTS = "(import_statement) @import (import_from_statement) @from"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def settings_key(settings: Settings) -> str:
    """The settings that change raw results, as a stable string."""
    rules = ",".join(sorted(settings.enabled_rules()))
    per_file = ";".join(f"{glob}={','.join(sorted(codes))}" for glob, codes in settings.per_file_ignores)
    return (
        f"format={CACHE_FORMAT};version={__version__};rules={rules};budget={settings.budget}"
        f";per-file-ignores={per_file}"
    )


# -- imports -> project files -------------------------------------------------------------------
@dataclass(frozen=True)
class ImportRef:
    module: str  # dotted name without the leading dots ("" for `from . import x`)
    level: int  # number of leading dots (0: absolute)
    names: tuple[str, ...] = ()  # imported names of a from-import (may be submodules)


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


_IMPORT_LINE = re.compile(rb"^[ \t]*(?:import|from)[ \t\\(]", re.M)


def import_statements(source: bytes) -> bytes:
    """The lines of ``source`` that may hold import statements (with their continuation lines),
    dedented; parsing only these keeps import discovery cheap on large files. A line inside a
    string that looks like an import adds a dependency too many, never one too few."""
    out: list[bytes] = []
    for m in _IMPORT_LINE.finditer(source):
        end = m.start()
        depth = 0
        while True:
            nl = source.find(b"\n", end)
            line = source[end : len(source) if nl == -1 else nl]
            depth += line.count(b"(") - line.count(b")")
            end = len(source) if nl == -1 else nl + 1
            if nl == -1 or (depth <= 0 and not line.rstrip(b"\r").endswith(b"\\")):
                break
        out.append(source[m.start() : end].lstrip(b" \t").rstrip(b"\r\n"))
    return b"\n".join(out) + b"\n"


def imports_of(source: bytes) -> list[ImportRef]:
    """Every import statement of a file (nested ones too), in source order."""
    try:
        tree = parse(import_statements(source))
    except SourceError:
        return []
    caps = QueryCursor(Query(language(), _IMPORTS)).captures(tree.root_node)
    out: list[tuple[int, ImportRef]] = []
    for node in caps.get("import", []):
        for name in node.children_by_field_name("name"):
            dotted = name.child_by_field_name("name") if name.type == "aliased_import" else name
            out.append((node.start_byte, ImportRef(_text(dotted), 0)))
    for node in caps.get("from", []):
        mod = node.child_by_field_name("module_name")
        if mod is None:
            continue
        level, module = 0, _text(mod)
        if mod.type == "relative_import":
            prefix = next((c for c in mod.children if c.type == "import_prefix"), None)
            level = len(_text(prefix).strip())
            dotted = next((c for c in mod.children if c.type == "dotted_name"), None)
            module = _text(dotted)
        names = []
        for name in node.children_by_field_name("name"):
            dotted = name.child_by_field_name("name") if name.type == "aliased_import" else name
            names.append(_text(dotted))
        out.append((node.start_byte, ImportRef(module, level, tuple(names))))
    return [ref for _, ref in sorted(out, key=lambda t: t[0])]


def resolve_imports(project: Project, path: Path, refs: Iterable[ImportRef]) -> tuple[list[Path], list[str]]:
    """The project files that ``refs`` (imports of ``path``) name, and the names that resolve to none."""
    found: list[Path] = []
    missing: list[str] = []
    for ref in refs:
        files, resolved = project.import_files(path, ref.module, ref.level, ref.names)
        found += [Path(f) for f in files]
        if not resolved:  # imported names that are not submodules are attributes, not files
            missing.append("." * ref.level + ref.module)
    return found, missing


@dataclass
class ContextHasher:
    """Hashes a file's direct imports, resolved by ``project`` (by default the project of every
    Python file below ``root``, as a scan analyses them); memoises the content hash of every
    dependency."""

    root: Path
    project: Project | None = None
    _hashes: dict[Path, str] = field(default_factory=dict)
    _init_imports: dict[Path, list[Path]] = field(default_factory=dict)

    def _project(self) -> Project:
        if self.project is None:
            from codegraph.project import Project

            self.project = Project(self.root)
        return self.project

    def _content_hash(self, path: Path) -> str:
        if path not in self._hashes:
            try:
                self._hashes[path] = sha256_bytes(path.read_bytes())
            except OSError:
                self._hashes[path] = "unreadable"
        return self._hashes[path]

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError:
            return b""

    def dependencies(self, path: Path, source: bytes) -> tuple[set[Path], set[str]]:
        """The project files ``path`` imports (following package ``__init__`` re-exports), and the
        import names that resolve to no project file."""
        project = self._project()
        files, missing = resolve_imports(project, path, imports_of(source))
        found: set[Path] = set()
        queue = [f.resolve() for f in files]
        while queue:
            f = queue.pop()
            if f in found:
                continue
            found.add(f)
            if f.name == "__init__.py":  # `from pkg import f` may be served by pkg/mod.py
                if f not in self._init_imports:
                    more, _ = resolve_imports(project, f, imports_of(self._read(f)))
                    self._init_imports[f] = [m.resolve() for m in more]
                queue += self._init_imports[f]
        found.discard(path.resolve())
        return found, set(missing)

    def _name(self, real: Path) -> str:
        try:
            return real.relative_to(self.root).as_posix()
        except ValueError:
            return real.as_posix()

    def context_hash(self, path: Path, source: bytes) -> str:
        files, missing = self.dependencies(path, source)
        # the file itself and its module name: module and function names depend on them, and
        # two files with the same text must never share an entry (each holds its own file's findings)
        module, is_package = self._project().module_of_file(path)
        rows = {f"module:{module}:{is_package}", f"file:{self._name(path.resolve())}"}
        for real in files:
            rows.add(f"{self._name(real)}:{self._content_hash(real)}")
        rows |= {f"unresolved:{m}" for m in missing}
        return sha256_bytes("\n".join(sorted(rows)).encode())


def cache_key(source: bytes, context: str, model_sha256: str, settings: str) -> str:
    h = hashlib.sha256()
    for part in (sha256_bytes(source), context, model_sha256, settings):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


# -- (de)serialisation ----------------------------------------------------------------------------
def _rel(path: str, root: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return "./" + p.relative_to(root).as_posix()
        except ValueError:
            return path
    return path


def _abs(path: str, root: Path) -> str:
    return str(root / path[2:]) if path.startswith("./") else path


class InvalidEntry(ValueError):
    """A cache entry that does not have the exact shape :func:`encode` writes."""


def _field(d: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise InvalidEntry(f"missing {key!r}")
    value = d[key]
    # bool is an int subclass: a position or count that is true/false is as wrong as a string
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise InvalidEntry(f"{key!r} has the wrong type")
    return value


def _position(d: Any, key: str) -> int:
    value = _field(d, key, int)
    if value < 1:
        raise InvalidEntry(f"{key!r} is not a 1-based position")
    return int(value)


def _count(d: Any, key: str) -> int:
    value = _field(d, key, int)
    if value < 0:
        raise InvalidEntry(f"{key!r} is negative")
    return int(value)


def _confidence(d: Any) -> float:
    value = float(_field(d, "confidence", (int, float)))
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise InvalidEntry("'confidence' outside 0..1")
    return value


def _fix_from_json(d: Any) -> Fix | None:
    if d is None:
        return None
    return Fix(
        _position(d, "line"),
        _position(d, "column"),
        _position(d, "end_line"),
        _position(d, "end_column"),
        _field(d, "replacement", str),
    )


def _finding_from_json(d: Any, root: Path) -> Finding:
    rule = _field(d, "rule", str)
    if rule not in RULES_BY_CODE or _field(d, "name", str) != RULES_BY_CODE[rule].name:
        raise InvalidEntry(f"unknown rule {rule!r}")
    return Finding(
        path=_abs(_field(d, "path", str), root),
        line=_position(d, "line"),
        column=_position(d, "column"),
        end_line=_position(d, "end_line"),
        end_column=_position(d, "end_column"),
        rule=rule,
        name=RULES_BY_CODE[rule].name,
        message=_field(d, "message", str),
        confidence=_confidence(d),
        function=_field(d, "function", str),
        fix=_fix_from_json(_field(d, "fix", (dict, type(None)))),
        related=tuple(
            Related(
                _abs(_field(r, "path", str), root), _position(r, "line"), _position(r, "column"),
                _field(r, "message", str),
            )
            for r in _field(d, "related", list)
        ),
    )  # fmt: skip


def encode(analysis: FileAnalysis, root: Path) -> dict[str, Any]:
    findings = []
    for f in analysis.findings:
        d = f.to_json()
        d["confidence"] = f.confidence  # unrounded: thresholds compare the exact value
        d["path"] = _rel(f.path, root)
        for r in d["related"]:
            r["path"] = _rel(r["path"], root)
        findings.append(d)
    return {
        "path": _rel(analysis.path, root),
        "findings": findings,
        "errors": [
            {"path": _rel(e.path, root), "message": e.message, "kind": e.kind.value} for e in analysis.errors
        ],
        "functions": analysis.functions,
        "lines": analysis.lines,
    }


def decode(data: Any, root: Path) -> FileAnalysis:
    """The analysis an entry holds; raises :class:`InvalidEntry` for anything :func:`encode` would
    not have written (wrong types, positions below 1, unknown rules, findings of another file)."""
    path = _abs(_field(data, "path", str), root)
    findings = [_finding_from_json(d, root) for d in _field(data, "findings", list)]
    errors = [
        FileError(
            _abs(_field(e, "path", str), root), _field(e, "message", str), ErrorKind(_field(e, "kind", str))
        )
        for e in _field(data, "errors", list)
    ]
    if any(f.path != path for f in findings) or any(e.path != path for e in errors):
        raise InvalidEntry("findings of another file")
    return FileAnalysis(
        path=path,
        findings=findings,
        errors=errors,
        functions=_count(data, "functions"),
        lines=_count(data, "lines"),
    )


class Cache:
    """JSON entries under ``<root>/.codegraph_cache``; a disabled cache stores nothing.

    Write failures (a read-only checkout) turn the cache off for the rest of the run and
    are reported once through :attr:`warning`; a corrupt entry counts as a miss.
    """

    def __init__(self, root: Path, enabled: bool = True, directory: Path | None = None) -> None:
        self.root = root.resolve()
        self.dir = (directory or self.root / CACHE_DIR_NAME).resolve()
        self.enabled = enabled
        self.warning: str | None = None
        self.hits = 0
        self.misses = 0

    def _entry(self, key: str) -> Path:
        return self.dir / f"v{CACHE_FORMAT}" / key[:2] / f"{key}.json"

    def get(self, key: str, path: Path | None = None) -> FileAnalysis | None:
        """The entry under ``key``, or None (a miss) when there is none or it is invalid; with
        ``path``, an entry recorded for another file is a miss too. A miss is rewritten by
        the caller's :meth:`put`."""
        if not self.enabled:
            return None
        try:
            data = json.loads(self._entry(key).read_text(encoding="utf-8"))
            result = decode(data, self.root)
            if path is not None and Path(result.path).resolve() != path.resolve():
                raise InvalidEntry("entry of another file")
        except (OSError, ValueError, RecursionError):  # InvalidEntry and JSON errors are ValueErrors
            self.misses += 1
            return None
        self.hits += 1
        return result

    def _prepare(self) -> None:
        if not (self.dir / ".gitignore").exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
            (self.dir / ".gitignore").write_text("# created by codegraph\n*\n", encoding="utf-8")

    def put(self, key: str, analysis: FileAnalysis) -> None:
        if not self.enabled:
            return
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(encode(analysis, self.root), fh, ensure_ascii=False, allow_nan=False)
                os.replace(tmp, entry)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            self.enabled = False
            self.warning = f"cache disabled: cannot write {self.dir}: {exc.strerror or exc}"
