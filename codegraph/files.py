"""Which files a scan analyses: walking directories, .gitignore, `exclude` globs, symlinks.

Rules, in order:

* Paths named on the command line that are files are analysed (whatever their
  suffix) unless they end in ``.pyi`` or match an ``exclude`` glob; .gitignore does not
  apply to them (pre-commit names only tracked files anyway).
* Directories are walked for ``*.py`` files (stub files ``*.pyi`` are skipped). The
  ``.gitignore`` files of the enclosing git repository apply, each to the paths below
  its own directory, deeper files winning, with ``!`` re-inclusion, exactly as git reads
  them (via :mod:`pathspec`); ``.git/info/exclude`` applies too. An ignored directory is
  not entered. Version-control, cache and virtual-environment directories
  (:data:`SKIPPED_DIRS`, and any directory holding a ``pyvenv.cfg``) are never entered.
* ``exclude`` globs (gitignore syntax) from ``[tool.codegraph]`` are matched against the
  path relative to the directory of that pyproject.toml; globs given with ``--exclude``
  against the path relative to the current directory. A directory named on the command
  line is walked even when a glob covers it (``scan examples/`` with ``exclude =
  ["examples/**"]``): the globs that exclude everything in it are waived inside it,
  narrower ones still apply. Named files are dropped when a glob matches them
  (pre-commit names the files to check one by one).
* Symbolic links to directories are followed, but a directory is entered at most once
  (by its resolved path), so link loops end; each resolved file is analysed once.

This is the one walker: the cross-file index (:class:`codegraph.project.Project`) and the
language server's workspace list the files of a directory with :func:`python_files`.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from codegraph.findings import ErrorKind, FileError

#: directory names that are never walked into
SKIPPED_DIRS: frozenset[str] = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", ".codegraph_cache", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        "__pycache__", ".tox", ".nox", ".venv", "venv", "node_modules", "site-packages", "__pypackages__",
        ".eggs",
    }
)  # fmt: skip


class PathNotFound(FileNotFoundError):
    """A path named on the command line does not exist (a usage error)."""


class SourceTooLarge(OSError):
    """A file over the size limit (it is not read)."""


class NotRegularFile(OSError):
    """A FIFO, a device or a socket: reading it could block forever or never end."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (as stored: decoding is
    :func:`codegraph.syntax.utf8_source`'s).

    The file is opened without blocking (a FIFO named on the command line would otherwise
    block in ``open()``), checked to be a regular file and to be within ``limit`` with
    ``fstat`` before anything is read, and read up to ``limit + 1`` bytes (a file that
    grows meanwhile is still refused, never read without end). Raises OSError, of which
    :class:`NotRegularFile` and :class:`SourceTooLarge` carry the message to show.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"not a regular file ({_file_kind(st.st_mode)})")
        if st.st_size > limit:
            raise SourceTooLarge(f"file too large ({st.st_size:,} bytes; limit {limit:,})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise SourceTooLarge(f"file too large (over {limit:,} bytes; limit {limit:,})")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def find_git_root(path: Path) -> Path | None:
    """The work tree root of the git repository containing ``path`` (a ``.git`` dir or file), or None."""
    path = path.resolve()
    for d in [path, *path.parents] if path.is_dir() else list(path.parents):
        if (d / ".git").exists():
            return d
    return None


def display_path(path: Path, cwd: Path | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when under it, else absolute."""
    cwd = (cwd or Path.cwd()).resolve()
    absolute = path if path.is_absolute() else cwd / path
    absolute = Path(os.path.normpath(absolute))
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return absolute.as_posix()


def _relative_posix(path: Path, base: Path) -> str | None:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return None


def valid_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is a valid gitignore pattern (git skips a lone ``!`` or ``\\``)."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:  # pathspec's GitIgnorePatternError
        return False
    return True


class GitIgnore:
    """The .gitignore files of one git work tree, read lazily per directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}
        info = root / ".git" / "info" / "exclude"
        self._info = self._read(info) if info.is_file() else None

    @staticmethod
    def _read(file: Path) -> pathspec.GitIgnoreSpec | None:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return pathspec.GitIgnoreSpec.from_lines([line for line in lines if valid_pattern(line)])

    def _spec(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            gi = directory / ".gitignore"
            self._specs[directory] = self._read(gi) if gi.is_file() else None
        return self._specs[directory]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """Whether git ignores ``path`` (an absolute path inside the work tree; parents not checked)."""
        rel = _relative_posix(path, self.root)
        if rel is None or rel == ".":
            return False
        decision: bool | None = None
        specs: list[tuple[Path, pathspec.GitIgnoreSpec | None]] = [(self.root, self._info)]
        parts = Path(rel).parts
        d = self.root
        specs.append((d, self._spec(d)))
        for part in parts[:-1]:
            d = d / part
            specs.append((d, self._spec(d)))
        for base, spec in specs:
            if spec is None:
                continue
            sub = _relative_posix(path, base)
            if sub is None:
                continue
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                decision = result.include
        return bool(decision)


#: (index of a rule set, index of a pattern in it)
PatternId = tuple[int, int]


@dataclass
class ExcludeRules:
    """``exclude`` globs (gitignore syntax), each set anchored at its own base directory."""

    rules: list[tuple[Path, pathspec.GitIgnoreSpec]] = field(default_factory=list)

    def add(self, patterns: Iterable[str], base: Path) -> None:
        patterns = [p for p in patterns if p.strip()]
        if patterns:
            self.rules.append((base.resolve(), pathspec.GitIgnoreSpec.from_lines(patterns)))

    def excluded(self, path: Path, is_dir: bool, waived: frozenset[PatternId] = frozenset()) -> bool:
        """Whether a pattern excludes ``path``; a ``waived`` pattern deciding the match does not count."""
        for i, (base, spec) in enumerate(self.rules):
            rel = _relative_posix(path, base)
            if rel is None or rel == ".":
                continue
            result = spec.check_file(rel + "/" if is_dir else rel)
            if result.include and (i, result.index) not in waived:
                return True
        return False

    def covering(self, directory: Path) -> frozenset[PatternId]:
        """The patterns that exclude any file directly in ``directory``: they are waived while
        walking a directory named on the command line (``scan examples/`` scans examples/ even
        though ``exclude = ["examples/**"]``); narrower patterns still apply below it."""
        out = set()
        for i, (base, spec) in enumerate(self.rules):
            rel = _relative_posix(directory, base)
            if rel is None:
                continue
            probe = f"{rel}/{_PROBE}" if rel != "." else _PROBE
            result = spec.check_file(probe)
            if result.include and result.index is not None:
                out.add((i, result.index))
        return frozenset(out)


_PROBE = "__codegraph_probe__.py"


class WalkLimit(Exception):
    """A walk found more files than allowed, or ran past its deadline."""


@dataclass(frozen=True)
class Budget:
    """How far a walk may go: at most ``max_files`` files, until ``time.monotonic()`` passes ``deadline``."""

    max_files: int | None = None
    deadline: float | None = None

    def check(self, files: int) -> None:
        if (self.max_files is not None and files > self.max_files) or (
            self.deadline is not None and time.monotonic() > self.deadline
        ):
            raise WalkLimit


@dataclass
class WalkResult:
    files: list[Path] = field(default_factory=list)  # absolute, in a stable order
    errors: list[FileError] = field(default_factory=list)


def _absolute(path: Path) -> Path:
    """Absolute, with symbolic links resolved in the directories above it (not in its last part)."""
    p = Path(os.path.normpath(path if path.is_absolute() else Path.cwd() / path))
    return p.parent.resolve() / p.name if p.name else p


def python_files(root: str | os.PathLike[str], budget: Budget | None = None) -> list[str] | None:
    """Every ``*.py`` file below ``root`` as a scan of it finds them, as strings; None when the
    walk goes beyond ``budget`` (or ``root`` is not a directory)."""
    if not os.path.isdir(root):
        return None
    try:
        walked = collect_files([Path(root)], budget=budget)
    except WalkLimit:
        return None
    return sorted(str(f) for f in walked.files)


def collect_files(
    paths: Sequence[Path],
    exclude: ExcludeRules | None = None,
    respect_gitignore: bool = True,
    budget: Budget | None = None,
) -> WalkResult:
    """The Python files under ``paths`` (see the module docstring). Raises PathNotFound, and
    WalkLimit when the walk goes beyond ``budget``."""
    exclude = exclude or ExcludeRules()
    budget = budget or Budget()
    out = WalkResult()
    seen_files: set[Path] = set()
    seen_dirs: set[Path] = set()
    gitignores: dict[Path, GitIgnore] = {}

    def add_file(f: Path) -> None:
        real = f.resolve()
        if real not in seen_files:
            seen_files.add(real)
            out.files.append(f)
            budget.check(len(out.files))

    for given in paths:
        p = _absolute(given)
        if not p.exists():
            raise PathNotFound(f"{given}: no such file or directory")
        if not p.is_dir():
            if p.suffix != ".pyi" and not exclude.excluded(p, is_dir=False):
                add_file(p)
            continue
        root = find_git_root(p) if respect_gitignore else None
        gitignore = None
        if root is not None:
            gitignore = gitignores.setdefault(root, GitIgnore(root))
        _walk(p, exclude, exclude.covering(p), gitignore, seen_dirs, add_file, out.errors, budget)
    return out


def _walk(
    top: Path,
    exclude: ExcludeRules,
    waived: frozenset[PatternId],
    gitignore: GitIgnore | None,
    seen_dirs: set[Path],
    add_file: Callable[[Path], None],
    errors: list[FileError],
    budget: Budget,
) -> None:
    stack = [top]
    while stack:
        d = stack.pop()
        budget.check(0)
        real = d.resolve()
        if real in seen_dirs:
            continue
        seen_dirs.add(real)
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            errors.append(
                FileError(
                    display_path(d), f"cannot read directory: {exc.strerror or exc}", ErrorKind.UNREADABLE
                )
            )
            continue
        subdirs: list[Path] = []
        for e in entries:
            path = d / e.name
            try:
                is_dir = e.is_dir()  # follows symbolic links
                is_file = not is_dir and e.is_file()
            except OSError:
                continue
            if is_dir:
                if e.name in SKIPPED_DIRS or exclude.excluded(path, True, waived):
                    continue
                if os.path.isfile(path / "pyvenv.cfg"):  # a virtual environment of any name
                    continue
                if gitignore is not None and gitignore.ignored(path, True):
                    continue
                subdirs.append(path)
            elif is_file and e.name.endswith(".py"):
                if exclude.excluded(path, False, waived) or (
                    gitignore is not None and gitignore.ignored(path, False)
                ):
                    continue
                add_file(path)
        stack.extend(reversed(subdirs))


# -- --diff REF: the lines changed since a git revision ----------------------------------------------
class GitError(RuntimeError):
    """git failed (not a repository, unknown revision); the message is one line for the user."""


#: per changed file (absolute, resolved): the changed 1-based line numbers, or None for "every line"
ChangedLines = dict[Path, set[int] | None]

#: ``git diff`` whatever the user's git configuration says: explicit a/ b/ prefixes (diff.noprefix and
#: diff.mnemonicPrefix change them), no external diff driver, no textconv, no colour, paths from the root
DIFF_ARGS = (
    "diff", "-U0", "--src-prefix=a/", "--dst-prefix=b/", "--no-ext-diff", "--no-textconv",
    "--no-color", "--no-renames", "--no-relative",
)  # fmt: skip


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GitError("--diff needs git, which is not installed") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {args[0]} failed: {lines[0] if lines else f'exit status {proc.returncode}'}")
    return proc.stdout


def _unquote(name: str) -> str:
    """A path as git prints it in a diff header: C-style quoted when it holds special characters."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        raw = name[1:-1].encode("utf-8").decode("unicode_escape")  # octal escapes are UTF-8 bytes
        return raw.encode("latin-1").decode("utf-8", "replace")
    return name


def parse_unified_diff(text: str, root: Path) -> ChangedLines:
    """Changed (added or modified) new-side lines per file of ``git diff -U0`` output (with the
    a/ b/ prefixes of :data:`DIFF_ARGS`), parsed with :mod:`unidiff`."""
    out: ChangedLines = {}
    try:
        patches = PatchSet(text)
    except UnidiffParseError as exc:
        raise GitError(f"cannot read the output of git diff: {exc}") from None
    for patched in patches:
        name = _unquote(patched.target_file)
        if name == "/dev/null" or patched.is_binary_file:
            continue
        name = name[2:] if name.startswith("b/") else name
        lines = {line.target_line_no for hunk in patched for line in hunk if line.is_added}
        out[(root / name).resolve()] = {n for n in lines if n is not None}
    return out


def changed_lines(ref: str, paths: Sequence[Path]) -> ChangedLines:
    """Lines changed between git revision ``ref`` and the working tree in the repositories of
    ``paths`` (staged and unstaged changes); untracked files count as changed everywhere."""
    roots = {find_git_root(_absolute(p)) for p in paths}
    if None in roots:
        raise GitError("--diff needs a git repository, but some paths are not in one")
    out: ChangedLines = {}
    for root in sorted(r for r in roots if r is not None):
        diff = _git(root, *DIFF_ARGS, ref, "--")
        out.update(parse_unified_diff(diff, root))
        untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
        for name in filter(None, untracked.split("\0")):
            out[(root / name).resolve()] = None
    return out
