"""The cross-file index of one project: modules, imports and calls that cross files.

A :class:`Project` is built from a root directory (every ``*.py`` below it that a scan of it
would analyse: :func:`codegraph.files.python_files`) or from a list of files.
Each file gets a module name: its own name plus the chain of enclosing directories that
hold an ``__init__.py`` (so ``src/`` layouts and packages given as the root both work);
for files below the root, the dotted path relative to the root (``src/`` stripped) is a
second name when it is free, so namespace packages (no ``__init__.py``) resolve too.

Code graphs are built lazily with :func:`codegraph.graph.build_file_graph` and kept until
the file's content changes (a graph is keyed by the content's digest), up to
``max_graph_nodes`` graph nodes in all: the least recently used graphs (and their symbol
tables) are dropped and built again, identically, when they are needed again, so a scan's
memory does not grow with the size of the tree. Files that are not
Python text (binary, not UTF-8) or cannot be read are recorded in :attr:`Project.errors`.

Call resolution is :mod:`codegraph.edges.calls`'; the project is its :class:`World`: it
hands out the symbol table of a module, so ``import a.b``, ``from .x import y``,
aliases, ``__init__.py`` re-exports and ``import *`` are followed across files.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from codegraph.edges.call_symbols import FileSymbols, ImportRecord, file_symbols, resolve_relative
from codegraph.edges.calls import Resolver
from codegraph.files import python_files
from codegraph.graph import build_file_graph
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.syntax import SourceError, read_source

#: graph nodes a project keeps built at once, over all its graphs (a graph node with its share
#: of edges, scopes and symbols takes about 770 bytes: some 190 MB; a 400-line file has about
#: 3,000); more graphs kept means fewer rebuilt for the context of the files that import them
MAX_GRAPH_NODES = 250_000


@dataclass(frozen=True, slots=True)
class CrossEdge:
    """An edge from a graph node of one file to a graph node of another."""

    src_path: str
    src_node: int
    dst_path: str
    dst_node: int
    kind: EdgeKind


class Definition(NamedTuple):
    """Where a callee is defined: a file of the project and the graph node of its definition."""

    path: str
    node: int


@dataclass(eq=False)
class _Entry:
    """One file of the project. ``source`` None: not read yet (it is read from disk)."""

    key: str
    path: str
    module: str = ""
    is_package: bool = False
    source: bytes | None = None
    digest: bytes | None = None
    graph: CodeGraph | None = None
    symbols: FileSymbols | None = None
    error: str | None = None

    def reset(self) -> None:
        self.graph = self.symbols = self.error = None


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))


def _digest(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


def _has_init(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def module_name(
    path: str | os.PathLike[str], is_package_dir: Callable[[str], bool] = _has_init
) -> tuple[str, bool]:
    """(module name, whether it is a package ``__init__``) of a file: its own name plus the
    enclosing package directories (those holding ``__init__.py``, by default on disk)."""
    p = os.path.abspath(path)
    d, name = os.path.split(p)
    stem = name.rsplit(".", 1)[0]
    is_package = stem == "__init__"
    parts = [] if is_package else [stem]
    while is_package_dir(d):
        head, tail = os.path.split(d)
        if not tail or head == d:
            break
        parts.append(tail)
        d = head
    return ".".join(reversed(parts)), is_package


def module_name_for(path: str | os.PathLike[str]) -> str:
    """The module name of a file from the packages on disk (``pkg/sub/mod.py`` -> ``pkg.sub.mod``)."""
    return module_name(path)[0]


def _root_relative_name(key: str, root: str) -> str | None:
    """The dotted path of a file relative to the root (``src/`` stripped), or None when outside."""
    try:
        rel = os.path.relpath(key, root)
    except ValueError:  # another drive
        return None
    parts = rel.replace(os.sep, "/").split("/")
    if parts[0] in ("..", "") or not parts[-1].endswith((".py", ".pyi")):
        return None
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


class Project:
    """The files of one project with their code graphs, module table and cross-file calls.

    ``Project(root)`` indexes every Python file below ``root``; ``Project(files=[...])``
    exactly the files given (``root`` then defaults to their common directory). Paths are
    reported as given (or joined to ``root`` as given); methods accept any spelling of a
    path. ``eager=True`` builds every graph at once, otherwise graphs are built on first use;
    at most ``max_graph_nodes`` graph nodes' worth are kept (None: all; the last one built
    always), the least recently used dropped first.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        files: Iterable[str | os.PathLike[str]] | None = None,
        *,
        eager: bool = False,
        max_graph_nodes: int | None = MAX_GRAPH_NODES,
    ) -> None:
        paths = [str(f) for f in files] if files is not None else []
        if root is None:
            dirs = [os.path.dirname(os.path.abspath(p)) for p in paths]
            root = os.path.commonpath(dirs) if dirs else os.getcwd()
        self.root = str(root)
        if files is None:
            paths = python_files(self.root) or []
        self._entries: dict[str, _Entry] = {}
        #: the keys of the entries whose graph is built, least recently used first: its node count
        self._built: OrderedDict[str, int] = OrderedDict()
        self._built_nodes = 0
        self.max_graph_nodes = max_graph_nodes
        self.graphs_built = 0  # how many graphs were built (dropped ones count again)
        for p in paths:
            key = _key(p)
            self._entries.setdefault(key, _Entry(key, p))
        self._modules: dict[str, _Entry] = {}
        self._prefixes: set[str] = set()
        self._rebuild_modules()
        if eager:
            self.build_all()

    @classmethod
    def from_root(cls, root: str | os.PathLike[str], *, eager: bool = False) -> Project:
        return cls(root, eager=eager)

    @classmethod
    def from_files(
        cls,
        files: Iterable[str | os.PathLike[str]],
        root: str | os.PathLike[str] | None = None,
        *,
        eager: bool = False,
    ) -> Project:
        return cls(root, files, eager=eager)

    # -- the module table ------------------------------------------------------------------

    def _rebuild_modules(self) -> None:
        """Recompute every file's module name (package structure may have changed)."""
        known: dict[str, bool] = {
            os.path.dirname(k): True for k in self._entries if os.path.basename(k) == "__init__.py"
        }

        def is_package_dir(directory: str) -> bool:
            directory = os.path.normcase(directory)
            found = known.get(directory)
            if found is None:
                found = known[directory] = _has_init(directory)
            return found

        table: dict[str, _Entry] = {}
        entries = list(self._entries.values())
        for e in entries:
            module, is_package = module_name(e.path, is_package_dir)
            if module != e.module or is_package != e.is_package:
                e.module, e.is_package = module, is_package
                e.reset()  # the graph's module name and relative imports depend on it
                self._unbuilt(e.key)
        # a package wins over a module of the same name, then the first path in sorted order
        for e in sorted(entries, key=lambda e: (not e.is_package, e.key)):
            table.setdefault(e.module, e)
        root = _key(self.root)
        for e in sorted(entries, key=lambda e: e.key):
            alias = _root_relative_name(e.key, root)
            if alias:
                table.setdefault(alias, e)
        self._modules = table
        self._prefixes = {m[:i] for m in table for i, ch in enumerate(m) if ch == "."}

    def symbols(self, module: str) -> FileSymbols | None:
        """The symbol table of ``module`` (None when not in the project or not parseable)."""
        entry = self._modules.get(module)
        return self._symbols(entry) if entry is not None else None

    def is_module(self, module: str) -> bool:
        """Whether ``module`` is a module, a package or a namespace package of the project."""
        return module in self._modules or module in self._prefixes

    @property
    def modules(self) -> dict[str, str]:
        """Module name -> path (names relative to the root included)."""
        return {m: e.path for m, e in self._modules.items()}

    @property
    def files(self) -> list[str]:
        return [e.path for e in self._entries.values()]

    def module_of(self, path: str | os.PathLike[str]) -> str:
        return self._entry(path).module

    def path_of(self, module: str) -> str | None:
        entry = self._modules.get(module)
        return entry.path if entry is not None else None

    def module_of_file(self, path: str | os.PathLike[str]) -> tuple[str, bool]:
        """(module name, whether it is a package ``__init__``) of a file of the project, or of
        another file from the packages on disk."""
        entry = self._entries.get(_key(path))
        return (entry.module, entry.is_package) if entry is not None else module_name(path)

    def import_files(
        self, path: str | os.PathLike[str], module: str, level: int = 0, names: Iterable[str] = ()
    ) -> tuple[list[str], bool]:
        """The files of the project that an import written in the file ``path`` names, as calls
        are resolved: the module (``level`` leading dots: relative to the file's package) and
        the submodules among the imported ``names``; and whether the module itself is a file."""
        current, is_package = self.module_of_file(path)
        absolute = resolve_relative(current, is_package, level, module)
        if not absolute:
            return [], False
        found = self.path_of(absolute)
        subs = (self.path_of(f"{absolute}.{name}") for name in names if name)
        return [f for f in (found, *subs) if f is not None], found is not None

    # -- files and graphs ------------------------------------------------------------------

    def _entry(self, path: str | os.PathLike[str]) -> _Entry:
        entry = self._entries.get(_key(path))
        if entry is None:
            raise KeyError(f"{path} is not a file of this project")
        return entry

    def _graph(self, entry: _Entry) -> CodeGraph | None:
        if entry.graph is not None:
            self._built.move_to_end(entry.key)
            return entry.graph
        if entry.error is not None:
            return None
        source = entry.source
        if source is None:
            try:
                source = read_source(entry.key)
            except OSError as exc:
                entry.error = f"cannot read: {exc.strerror or exc}"
                return None
            except SourceError as exc:
                entry.error = str(exc)
                return None
            entry.source, entry.digest = source, _digest(source)
        try:
            entry.graph = build_file_graph(source, entry.path, entry.module)
        except SourceError as exc:
            entry.error = str(exc)
            return None
        self.graphs_built += 1
        self._built[entry.key] = entry.graph.num_nodes
        self._built_nodes += entry.graph.num_nodes
        budget = self.max_graph_nodes
        while budget is not None and self._built_nodes > budget and len(self._built) > 1:
            key, nodes = self._built.popitem(last=False)
            self._built_nodes -= nodes
            old = self._entries.get(key)
            if old is not None:
                old.graph = old.symbols = None  # built again from its source when needed
        return entry.graph

    def _unbuilt(self, key: str) -> None:
        """Forget that ``key``'s graph is built (it was reset or removed)."""
        self._built_nodes -= self._built.pop(key, 0)

    def _symbols(self, entry: _Entry) -> FileSymbols | None:
        if entry.symbols is None:
            g = self._graph(entry)
            if g is not None:
                entry.symbols = file_symbols(g)
        return entry.symbols

    def graph(self, path: str | os.PathLike[str]) -> CodeGraph | None:
        """The code graph of a file of the project; None when it is not Python text (see errors)."""
        return self._graph(self._entry(path))

    def symbols_of(self, path: str | os.PathLike[str]) -> FileSymbols | None:
        return self._symbols(self._entry(path))

    def build_all(self) -> None:
        """Build every file's graph now (errors are recorded, never raised)."""
        for entry in self._entries.values():
            self._graph(entry)

    @property
    def errors(self) -> dict[str, str]:
        """Path -> message for every file found not to be readable Python text so far."""
        return {e.path: e.error for e in self._entries.values() if e.error is not None}

    def error_of(self, path: str | os.PathLike[str]) -> str | None:
        """Why a file has no graph (None when it has one or was not built yet)."""
        return self._entry(path).error

    def update_file(self, path: str | os.PathLike[str], source: bytes | str) -> None:
        """Set a file's content (adding the file when new). Same content: the graph is kept."""
        data = source.encode("utf-8") if isinstance(source, str) else source
        key = _key(path)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(key, str(path), source=data, digest=_digest(data))
            self._rebuild_modules()
            return
        digest = _digest(data)
        if digest == entry.digest and entry.source is not None:
            return
        entry.source, entry.digest = data, digest
        entry.reset()
        self._unbuilt(key)

    def remove_file(self, path: str | os.PathLike[str]) -> None:
        """Forget a file (no error when it is not part of the project)."""
        self._unbuilt(_key(path))
        if self._entries.pop(_key(path), None) is not None:
            self._rebuild_modules()

    # -- imports and calls -----------------------------------------------------------------

    def imports(self, path: str | os.PathLike[str]) -> list[ImportRecord]:
        """Every import of a file (any scope), relative imports made absolute."""
        fs = self.symbols_of(path)
        return list(fs.imports) if fs is not None else []

    def cross_file_calls(self, path: str | os.PathLike[str]) -> list[CrossEdge]:
        """CALLS and FORMAL_ARG_NAME edges from the calls of a file to callees in other files."""
        entry = self._entry(path)
        fs = self._symbols(entry)
        if fs is None:
            return []
        return list(self._cross_edges(entry, fs))

    def _cross_edges(self, entry: _Entry, fs: FileSymbols) -> Iterator[CrossEdge]:
        calls, formal = EdgeKind.CALLS, EdgeKind.FORMAL_ARG_NAME
        for rc in Resolver(self).resolve_calls(fs):
            dst = rc.callee.symbols
            if dst is fs:
                continue
            dst_path = dst.graph.path
            yield CrossEdge(entry.path, rc.call, dst_path, rc.callee.node, calls)
            for arg, param in rc.bindings:
                yield CrossEdge(entry.path, arg, dst_path, param, formal)

    def definition_of(self, path: str | os.PathLike[str], call_node: int) -> Definition | None:
        """Where the callee of a call graph node is defined (this file or another), if known."""
        fs = self.symbols_of(path)
        if fs is None:
            return None
        callee = Resolver(self).resolve_call(fs, call_node)
        return Definition(callee.symbols.graph.path, callee.node) if callee is not None else None
