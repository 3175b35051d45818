"""Real one-token bug fixes mined from the git histories of public Python repositories.

``codegraph train mine --pins models/training/mine_pins.txt --mirrors DIR --out data/realfixes``

Input: a pin list (``owner/name SHA`` a line; ``#`` comments; a name without a SHA is
mined at its mirror's ``HEAD``, which ``--record-pins`` then writes back) and a directory
of bare mirrors or clones, ``DIR/owner+name/repo``, ``DIR/owner+name.git`` or
``DIR/owner+name``. ``--clone`` clones a missing repository from GitHub first (bare,
blobs included). Repositories listed in the held-out lists (``heldout_repos.txt``, and any
whose name is a held-out distribution) are refused.

What counts as a fix (every condition holds):

- the commit is not a merge; its message matches ``fix|bug|typo|wrong|incorrect|mistake|
  error|issue|correct`` (case-insensitive, any word starting so) and its subject is not a
  revert;
- exactly one ``.py`` file outside tests is touched, and it is modified (not added,
  deleted or renamed); tests, docs, changelogs and other non-Python files may change too;
- that file keeps its line count and exactly one line differs;
- within the line one token differs: a name, an operator, a number, string or ``None``/
  ``True``/``False`` literal, an inserted or removed ``not``, or two arguments of one
  bracket swapped;
- the buggy file parses (Python 3.11 grammar), the edit is not in a comment or a string
  spanning lines, and applying the repair to the buggy file gives the fixed file's AST
  (which differs from the buggy file's);
- duplicates are removed: within a repository the same (path, buggy line, fixed line)
  is kept once, the oldest (cherry-picks and backports carry the same edit);
  ``split`` also removes the same (buggy function, buggy line, fixed line) across
  repositories (vendored copies, forks).

Only the history of the pinned head is walked (``git log --no-merges``, then ``git
cat-file --batch`` for the two blobs of each candidate commit), so a maintenance branch's
backports are not seen twice.

Output, resumable: ``OUT/records/owner+name.jsonl`` (one JSON object per fix, written
atomically when the repository is done; a repository with a records file is skipped) and
``OUT/records/owner+name.json`` (the repository's counts: commits walked, fix-like
commits, single-file commits, fixes, seconds, head SHA).

Record format (one JSON line per fix; lines and columns 1-based, columns in code points,
ends exclusive, as in the finding JSON of ``codegraph scan``)::

    {"id": "owner/name@commit:path:line",
     "repo": "owner/name", "commit": "<sha>", "parent": "<sha>", "date": "<ISO author date>",
     "subject": "<commit subject>", "path": "pkg/mod.py",
     "rule": "CG001".."CG008" | "other",
     "kind": "name" | "attribute" | "keyword" | "number" | "bool" | "none" | "string" |
             "binary-operator" | "comparison-operator" | "boolean-operator" |
             "assignment-operator" | "negation" | "swap" | "other",
     "function": "pkg.mod.Class.method" (the module's dotted name at module level),
     "function_line": 10, "function_end_line": 20 (the innermost def, decorators included;
                                                   1 .. last line at module level),
     "line": 12, "buggy_line": "...", "fixed_line": "..." (without the newline),
     "bug": {"line": 12, "column": 9, "end_line": 12, "end_column": 13, "text": "left"},
     "fix": {"line": 12, "column": 9, "end_line": 12, "end_column": 13, "replacement": "right"},
     "buggy_function": "...", "fixed_function": "..." (the innermost def's text, or the
                                                      whole file at module level),
     "source": "..." (the whole buggy file; the fixed file is it with line ``line``
                      replaced by ``fixed_line``)}

``fix`` replaces the ``bug`` range of the buggy file: a replaced token, an inserted
``not `` (an empty range) or a removed one, or for ``swap`` the span from the first
swapped argument to the second. A candidate of codegraph's enumeration expresses a fix
when applying its repair to ``source`` gives a file whose AST is the fixed file's.

``codegraph train mine split --data data/realfixes`` deduplicates across repositories and
assigns each repository to train, valid or test by a hash of its name (deterministic),
writing ``OUT/train.jsonl``, ``valid.jsonl``, ``test.jsonl`` and ``OUT/REPORT.md``-ready
counts (``codegraph train mine report``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import keyword
import re
import shutil
import subprocess
import sys
import time
import tokenize
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_PINS = HERE / "mine_pins.txt"
DEFAULT_OUT = Path("data/realfixes")
SPLITS = ("train", "valid", "test")
#: share of repositories per split, by hash of the name (test is large: it must hold >= 1,000 fixes)
SPLIT_SHARES = {"test": 0.15, "valid": 0.08}
MAX_FILE_BYTES = 400_000

FIX_WORDS = r"fix|bug|typo|wrong|incorrect|mistake|error|issue|correct"
FIX_RE = re.compile(rf"\b({FIX_WORDS})", re.IGNORECASE)
REVERT_RE = re.compile(r"^\s*(revert|undo|back ?out)\b", re.IGNORECASE)
TEST_PART = re.compile(r"^(tests?|testing|test_?utils?|unittests?)$", re.IGNORECASE)

BINARY = {"+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"}
COMPARISON = {"<", "<=", ">", ">=", "==", "!=", "in", "is"}
ASSIGNMENT = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "@="}
BOOLEAN = {"and", "or"}
KIND_RULE = {
    "name": "CG001",
    "swap": "CG002",
    "binary-operator": "CG003",
    "comparison-operator": "CG004",
    "boolean-operator": "CG005",
    "number": "CG006",
    "bool": "CG006",
    "none": "CG006",
    "negation": "CG007",
    "assignment-operator": "CG008",
}
SKIP_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


class MineError(Exception):
    """A repository that cannot be mined (missing mirror, held out, git failure)."""


# --------------------------------------------------------------------------- pins and held-out lists


@dataclass(frozen=True)
class Pin:
    repo: str  # owner/name
    sha: str | None

    @property
    def key(self) -> str:
        return self.repo.replace("/", "+")


def read_pins(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if "/" not in parts[0] or len(parts) > 2:
            raise MineError(f"{path}:{n}: expected 'owner/name [SHA]', got {raw!r}")
        sha = parts[1] if len(parts) == 2 else None
        if sha is not None and not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise MineError(f"{path}:{n}: {sha!r} is not a 40-hex commit")
        if parts[0].lower() not in seen:
            seen.add(parts[0].lower())
            pins.append(Pin(parts[0], sha))
    return pins


def write_pins(path: Path, pins: Sequence[Pin], header: str) -> None:
    body = "".join(f"{p.repo} {p.sha}\n" if p.sha else f"{p.repo}\n" for p in pins)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)


def pins_header(path: Path) -> str:
    if not path.is_file():
        return ""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(ln for ln in lines if ln.startswith("#"))


def _names(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    out = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip().lower()
        if line:
            out.add(line)
    return out


def heldout_lists() -> tuple[set[str], set[str]]:
    """(held-out repositories owner/name, held-out distribution names), lower case."""
    repos = _names(HERE / "heldout_repos.txt")
    packages = _names(HERE / "heldout_packages.txt")
    return repos, packages


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def held_out_reason(repo: str, repos: set[str], packages: set[str]) -> str | None:
    """Why ``repo`` may not be mined (None when it may)."""
    low = repo.lower()
    name = _norm(low.split("/", 1)[1])
    if low in repos:
        return "a held-out repository"
    if name in {_norm(r.split("/", 1)[1]) for r in repos}:
        return "named as a held-out repository (a fork or mirror)"
    if name in {_norm(p) for p in packages} or name.removeprefix("python-") in {_norm(p) for p in packages}:
        return "named as a held-out distribution"
    return None


# --------------------------------------------------------------------------- git


def mirror_path(mirrors: Path, pin: Pin) -> Path | None:
    for cand in (mirrors / pin.key / "repo", mirrors / f"{pin.key}.git", mirrors / pin.key):
        if (cand / "HEAD").is_file() or (cand / ".git").exists():
            return cand
    return None


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.quotepath=off", *args],
        capture_output=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise MineError(
            f"git {' '.join(args[:2])} failed in {repo}: {result.stderr.decode(errors='replace')[:300]}"
        )
    return result.stdout.decode("utf-8", errors="replace")


def clone(repo: str, mirrors: Path) -> Path:
    target = mirrors / f"{repo.replace('/', '+')}.git"
    if not target.exists():
        mirrors.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--bare", "--quiet", f"https://github.com/{repo}.git", str(target)], check=True
        )
    return target


class BlobReader:
    """``git cat-file --batch`` kept open: blob bytes by SHA (None when the object is absent)."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def read(self, sha: str) -> bytes | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sha.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)
        return data

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py") or name == "tests.py":
        return True
    return any(TEST_PART.match(p) for p in parts[:-1])


@dataclass
class Candidate:
    commit: str
    parent: str
    date: str
    subject: str
    path: str
    old_blob: str
    new_blob: str


@dataclass
class RepoStats:
    commits: int = 0
    fix_like: int = 0
    single_file: int = 0
    one_line: int = 0
    fixes: int = 0
    dropped: Counter = field(default_factory=Counter)


def candidate_commits(repo: Path, head: str, stats: RepoStats) -> Iterator[Candidate]:
    """Fix-like non-merge commits of ``head``'s history that modify one non-test .py file."""
    count = git(repo, "rev-list", "--count", "--no-merges", head, check=False).strip()
    stats.commits = int(count) if count.isdigit() else 0
    log = git(
        repo,
        "log",
        "--no-merges",
        "-i",
        "-E",
        f"--grep={FIX_WORDS}",
        "--format=%x01%H %P%x00%aI%x00%s",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        head,
        check=False,  # a partial snapshot may end the walk early: keep what was read
    )
    for chunk in log.split("\x01")[1:]:
        header, _, raw = chunk.partition("\n")
        fields = header.split("\x00")
        if len(fields) != 3:
            continue
        shas, date, subject = fields
        parts = shas.split()
        if len(parts) != 2:  # root commits have no parent
            continue
        stats.fix_like += 1
        if REVERT_RE.search(subject):
            continue
        source: list[tuple[str, str, str, str]] = []
        for line in raw.splitlines():
            if not line.startswith(":"):
                continue
            meta, _, path = line.partition("\t")
            if not path.endswith(".py") and not path.endswith(".pyw"):
                continue
            if is_test_path(path):
                continue
            bits = meta.split()
            source.append((bits[4], path, bits[2], bits[3]))
            if len(source) > 1:
                break
        if len(source) != 1 or source[0][0] != "M" or source[0][1].startswith('"'):
            continue
        stats.single_file += 1
        _, path, old, new = source[0]
        yield Candidate(parts[0], parts[1], date, subject, path, old, new)


# --------------------------------------------------------------------------- one-token edits


@dataclass(frozen=True)
class Tok:
    type: int
    text: str
    col: int
    end: int


def line_tokens(text: str) -> list[Tok] | None:
    """The code tokens of one line on its own (None when it does not tokenize, e.g. inside a string).

    A line continuing a bracket opened above or opening one closed below still tokenizes;
    whether the line lies inside a string spanning lines is checked on the AST (``in_string``).
    """
    out: list[Tok] = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(text.strip() + "\n").readline):
            if t.type == tokenize.ERRORTOKEN and not t.string.isspace():
                return None
            if t.type in SKIP_TOKENS or t.type == tokenize.ERRORTOKEN:
                continue
            if t.start[0] != 1 or t.end[0] != 1:
                return None
            out.append(Tok(t.type, t.string, t.start[1], t.end[1]))
    except tokenize.TokenError as exc:
        if "string" in str(exc.args[0]).lower():
            return None  # an unterminated string: the line is part of a longer one
        # EOF in a multi-line statement: the line opens a bracket closed below
    except (SyntaxError, IndentationError):
        return None
    indent = len(text) - len(text.lstrip())
    return [Tok(t.type, t.text, t.col + indent, t.end + indent) for t in out]


def in_string(tree: ast.Module, line: int) -> bool:
    """Whether ``line`` lies inside a string (or f-string) literal that spans several lines."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            first, last = node.lineno, node.end_lineno or node.lineno
            if (
                first < last
                and first <= line <= last
                and (isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)))
            ):
                return True
    return False


@dataclass(frozen=True)
class Edit:
    kind: str
    col: int  # 0-based, on the buggy line
    end: int
    replacement: str
    bug: str


def token_kind(a: Tok, b: Tok, before: Tok | None, after: Tok | None) -> str:
    ta, tb = a.text, b.text
    if ta in BOOLEAN and tb in BOOLEAN:
        return "boolean-operator"
    if ta in COMPARISON and tb in COMPARISON:
        return "comparison-operator"
    if ta in BINARY and tb in BINARY:
        return "binary-operator"
    if ta in ASSIGNMENT and tb in ASSIGNMENT:
        return "assignment-operator"
    if {ta, tb} <= {"True", "False"}:
        return "bool"
    if (
        "None" in (ta, tb)
        and a.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
        and b.type
        in (
            tokenize.NAME,
            tokenize.NUMBER,
            tokenize.STRING,
        )
    ):
        return "none"
    if a.type == tokenize.NUMBER and b.type == tokenize.NUMBER:
        return "number"
    if a.type == tokenize.STRING and b.type == tokenize.STRING:
        return "string"
    if a.type == tokenize.NAME and b.type == tokenize.NAME:
        if keyword.iskeyword(ta) or keyword.iskeyword(tb):
            return "other"
        if before is not None and before.text == ".":
            return "attribute"
        if before is not None and before.text in ("def", "class", "import", "as", "global", "nonlocal"):
            return "other"  # a definition or import renamed, not a variable used in its place
        if after is not None and after.text == "=" and before is not None and before.text in ("(", ","):
            return "keyword"
        return "name"
    return "other"


def _depths(toks: Sequence[Tok]) -> list[int]:
    depth, out = 0, []
    for t in toks:
        if t.text in ")]}":
            depth -= 1
        out.append(depth)
        if t.text in "([{" and t.type == tokenize.OP:
            depth += 1
    return out


def _swap(bt: Sequence[Tok], ft: Sequence[Tok], i: int, j: int, fixed_line: str) -> Edit | None:
    """Two arguments of one bracket swapped between ``bt`` and ``ft`` (diffs from token i to j)."""
    db = _depths(bt)
    # the innermost bracket opened before i that is still open at j
    for o in range(i - 1, -1, -1):
        if bt[o].text in "([{" and bt[o].type == tokenize.OP and db[o] < min(db[i : j + 1]):
            break
    else:
        return None
    level = db[o] + 1
    close = next((k for k in range(o + 1, len(bt)) if db[k] < level), None)
    if close is None or close <= j:
        return None

    def args(toks: Sequence[Tok], depths: Sequence[int]) -> list[tuple[int, int]]:
        spans, start = [], o + 1
        for k in range(o + 1, close):
            if toks[k].text == "," and depths[k] == level:
                spans.append((start, k))
                start = k + 1
        spans.append((start, close))
        return [s for s in spans if s[0] < s[1]]

    df = _depths(ft)
    if df[o] != db[o] or ft[o].text != bt[o].text:
        return None
    ab, af = args(bt, db), args(ft, df)
    if len(ab) != len(af) or len(ab) < 2:
        return None
    texts_b = [tuple(t.text for t in bt[s:e]) for s, e in ab]
    texts_f = [tuple(t.text for t in ft[s:e]) for s, e in af]
    differ = [k for k in range(len(ab)) if texts_b[k] != texts_f[k]]
    if len(differ) != 2:
        return None
    p, q = differ
    if texts_b[p] != texts_f[q] or texts_b[q] != texts_f[p]:
        return None
    if any(t.text == "=" for t in [*bt[ab[p][0] : ab[p][1]], *bt[ab[q][0] : ab[q][1]]]):
        return None  # keyword arguments: swapping them changes nothing
    col, end = bt[ab[p][0]].col, bt[ab[q][1] - 1].end
    fcol, fend = ft[af[p][0]].col, ft[af[q][1] - 1].end
    call = o > 0 and (bt[o - 1].type == tokenize.NAME or bt[o - 1].text in ")]") and bt[o].text == "("
    return Edit("swap" if call else "other", col, end, fixed_line[fcol:fend], "")


def one_token_edit(bt: Sequence[Tok], ft: Sequence[Tok], buggy_line: str, fixed_line: str) -> Edit | None:
    """The single-token edit that turns the buggy line's tokens into the fixed line's, if there is one."""
    if len(bt) == len(ft):
        diff = [k for k in range(len(bt)) if bt[k].text != ft[k].text]
        if not diff:
            return None
        if len(diff) == 1:
            k = diff[0]
            before = bt[k - 1] if k > 0 else None
            after = bt[k + 1] if k + 1 < len(bt) else None
            kind = token_kind(bt[k], ft[k], before, after)
            return Edit(kind, bt[k].col, bt[k].end, ft[k].text, bt[k].text)
        edit = _swap(bt, ft, diff[0], diff[-1], fixed_line)
        if edit is not None:
            return Edit(edit.kind, edit.col, edit.end, edit.replacement, buggy_line[edit.col : edit.end])
        return None
    if abs(len(bt) - len(ft)) != 1:
        return None
    longer, shorter = (bt, ft) if len(bt) > len(ft) else (ft, bt)
    k = next((n for n in range(len(shorter)) if longer[n].text != shorter[n].text), len(shorter))
    if longer[k].text != "not" or [t.text for t in longer[k + 1 :]] != [t.text for t in shorter[k:]]:
        return None
    prev = longer[k - 1].text if k > 0 else None
    nxt = longer[k + 1].text if k + 1 < len(longer) else None
    kind = "comparison-operator" if prev == "is" or nxt == "in" else "negation"
    if longer is bt:  # the fix removes `not`
        end = bt[k + 1].col if k + 1 < len(bt) else bt[k].end
        return Edit(kind, bt[k].col, end, "", buggy_line[bt[k].col : end])
    # the fix inserts `not `: before the token that follows it in the fixed line
    at = bt[k].col if k < len(bt) else len(buggy_line.rstrip())
    return Edit(kind, at, at, "not ", "")


# --------------------------------------------------------------------------- functions


def module_name(path: str) -> str:
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[0] in ("src", "lib"):
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or path


def enclosing_function(tree: ast.Module, line: int, module: str) -> tuple[str, int, int] | None:
    """(qualified name, first line with decorators, last line) of the innermost def around ``line``."""
    best: tuple[str, int, int] | None = None

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                last = child.end_lineno or child.lineno
                name = f"{prefix}.{child.name}"
                if first <= line <= last:
                    if not isinstance(child, ast.ClassDef):
                        best = (name, first, last)
                    visit(child, name)
            elif first_line(child) <= line <= (getattr(child, "end_lineno", None) or 0):
                visit(child, prefix)

    visit(tree, module)
    return best


def first_line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0) or 0


# --------------------------------------------------------------------------- mining one repository


def _same_literal(a: str, b: str) -> bool:
    try:
        return bool(ast.literal_eval(a) == ast.literal_eval(b)) and type(ast.literal_eval(a)) is type(
            ast.literal_eval(b)
        )
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def examine(cand: Candidate, old: bytes, new: bytes, stats: RepoStats) -> dict[str, Any] | None:
    """The record of ``cand`` when its change is a one-token fix, else None (the reason counted)."""
    if len(old) > MAX_FILE_BYTES or len(new) > MAX_FILE_BYTES:
        stats.dropped["large file"] += 1
        return None
    try:
        a, b = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        stats.dropped["not utf-8"] += 1
        return None
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        stats.dropped["line count"] += 1
        return None
    diff = [k for k in range(len(la)) if la[k] != lb[k]]
    if len(diff) != 1:
        stats.dropped["lines changed"] += 1
        return None
    stats.one_line += 1
    idx = diff[0]
    line = idx + 1
    bl, fl = la[idx], lb[idx]
    bt, ft = line_tokens(bl), line_tokens(fl)
    if bt is None or ft is None:
        stats.dropped["tokens"] += 1
        return None
    edit = one_token_edit(bt, ft, bl, fl)
    if edit is None:
        stats.dropped["not one token"] += 1
        return None
    if edit.kind in ("number", "string") and _same_literal(edit.bug, edit.replacement):
        stats.dropped["same ast"] += 1  # 1.0 and 1., 'a' and "a"
        return None
    try:
        t_old = ast.parse(a)
        ast.parse(b)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        stats.dropped["syntax"] += 1
        return None
    if in_string(t_old, line):
        stats.dropped["in string"] += 1
        return None
    repaired_line = bl[: edit.col] + edit.replacement + bl[edit.end :]
    if repaired_line != fl:  # whitespace around the token differs: compare the trees
        repaired = "\n".join([*la[:idx], repaired_line, *la[idx + 1 :]])
        try:
            same = _dump(ast.parse(repaired)) == _dump(ast.parse(b))
        except (SyntaxError, ValueError, RecursionError):
            same = False
        if not same:
            stats.dropped["repair ast"] += 1
            return None
    stats.fixes += 1
    return _record(cand, edit, a, b, t_old, line)


def _record(cand: Candidate, edit: Edit, a: str, b: str, t_old: ast.Module, line: int) -> dict[str, Any]:
    """The record of one fix: ``edit`` on ``line`` of the buggy text ``a`` (parsed: ``t_old``),
    ``b`` the fixed text."""
    la, lb = a.splitlines(), b.splitlines()
    bl, fl = la[line - 1], lb[line - 1]
    module = module_name(cand.path)
    found = enclosing_function(t_old, line, module)
    if found is None:
        function, first, last = module, 1, len(la)
        buggy_fn, fixed_fn = a, b
    else:
        function, first, last = found
        buggy_fn = "\n".join(la[first - 1 : last]) + "\n"
        fixed_fn = "\n".join(lb[first - 1 : last]) + "\n"
    span = {"line": line, "column": edit.col + 1, "end_line": line, "end_column": edit.end + 1}
    return {
        "id": f"{cand.commit[:12]}:{cand.path}:{line}",
        "repo": "",
        "commit": cand.commit,
        "parent": cand.parent,
        "date": cand.date,
        "subject": cand.subject,
        "path": cand.path,
        "rule": KIND_RULE.get(edit.kind, "other"),
        "kind": edit.kind,
        "function": function,
        "function_line": first,
        "function_end_line": last,
        "line": line,
        "buggy_line": bl,
        "fixed_line": fl,
        "bug": {**span, "text": edit.bug},
        "fix": {**span, "replacement": edit.replacement},
        "buggy_function": buggy_fn,
        "fixed_function": fixed_fn,
        "source": a,
    }


def mine_repo(path: Path, repo: str, head: str) -> tuple[list[dict[str, Any]], RepoStats]:
    """Every fix of ``head``'s history in the repository at ``path``, oldest first, deduplicated."""
    stats = RepoStats()
    cands = list(candidate_commits(path, head, stats))
    reader = BlobReader(path)
    records: list[dict[str, Any]] = []
    try:
        for cand in reversed(cands):  # oldest first: a later cherry-pick is the duplicate
            old, new = reader.read(cand.old_blob), reader.read(cand.new_blob)
            if old is None or new is None:
                stats.dropped["missing blob"] += 1
                continue
            rec = examine(cand, old, new, stats)
            if rec is not None:
                rec["repo"] = repo
                rec["id"] = f"{repo}@{rec['id']}"
                records.append(rec)
    finally:
        reader.close()
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for rec in records:
        key = (rec["path"], rec["buggy_line"].strip(), rec["fixed_line"].strip())
        if key in seen:
            stats.dropped["duplicate"] += 1
            continue
        seen.add(key)
        unique.append(rec)
    stats.fixes = len(unique)
    return unique, stats


def resolve_head(path: Path, pin: Pin) -> str:
    if pin.sha is not None:
        if git(path, "cat-file", "-t", pin.sha, check=False).strip() != "commit":
            raise MineError(f"{pin.repo}: pinned commit {pin.sha} is not in {path}")
        return pin.sha
    head = git(path, "rev-parse", "HEAD", check=False).strip()
    if not re.fullmatch(r"[0-9a-f]{40}", head):
        raise MineError(f"{pin.repo}: no HEAD in {path}")
    return head


def records_path(out: Path, pin: Pin) -> Path:
    return out / "records" / f"{pin.key}.jsonl"


def write_repo(
    out: Path, pin: Pin, head: str, records: Sequence[dict[str, Any]], stats: RepoStats, seconds: float
) -> None:
    target = records_path(out, pin)
    target.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "repo": pin.repo,
        "head": head,
        "commits": stats.commits,
        "fix_like": stats.fix_like,
        "single_file": stats.single_file,
        "one_line": stats.one_line,
        "fixes": len(records),
        "dropped": dict(stats.dropped),
        "seconds": round(seconds, 1),
    }
    target.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    tmp = target.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    tmp.replace(target)


def mine_one(pin: Pin, path: Path, out: Path, delete: bool) -> str:
    """Mine one repository into ``OUT/records`` and return the line to log."""
    start = time.perf_counter()
    try:
        head = resolve_head(path, pin)
        records, stats = mine_repo(path, pin.repo, head)
    except MineError as exc:
        return f"skipped {pin.repo}: {exc}"
    write_repo(out, pin, head, records, stats, time.perf_counter() - start)
    if delete:
        shutil.rmtree(path.parent if path.name == "repo" else path, ignore_errors=True)
    return (
        f"{pin.repo}: {stats.commits} commits, {stats.fix_like} fix-like, {stats.single_file} one-file, "
        f"{len(records)} fixes, {time.perf_counter() - start:.1f} s"
    )


def mine(
    pins: Sequence[Pin],
    mirrors: Path,
    out: Path,
    *,
    do_clone: bool = False,
    delete: bool = False,
    jobs: int = 1,
    log: Callable[[str], object] = print,
) -> int:
    """Mine every pinned repository with a mirror and no records yet; returns how many were mined."""
    held_repos, held_packages = heldout_lists()
    todo: list[tuple[Pin, Path]] = []
    for pin in pins:
        reason = held_out_reason(pin.repo, held_repos, held_packages)
        if reason is not None:
            log(f"refused {pin.repo}: {reason}")
            continue
        if records_path(out, pin).is_file():
            continue
        path = mirror_path(mirrors, pin)
        if path is None and do_clone:
            path = clone(pin.repo, mirrors)
        if path is None:
            log(f"no mirror of {pin.repo} in {mirrors}")
            continue
        todo.append((pin, path))
    if jobs <= 1 or len(todo) <= 1:
        for pin, path in todo:
            log(mine_one(pin, path, out, delete))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            for line in pool.map(mine_one, *zip(*todo), [out] * len(todo), [delete] * len(todo)):
                log(line)
    return len(todo)


# --------------------------------------------------------------------------- splits


#: forks that share history go to the split of the repository they came from
FAMILIES = {
    "yt-dlp/yt-dlp": "ytdl-org/youtube-dl",
    "palantir/python-language-server": "python-lsp/python-lsp-server",
}


def split_of(repo: str) -> str:
    """train, valid or test, from a hash of the repository name (stable across runs and machines)."""
    family = FAMILIES.get(repo.lower(), repo.lower())
    h = int(hashlib.sha256(family.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    if h < SPLIT_SHARES["test"]:
        return "test"
    if h < SPLIT_SHARES["test"] + SPLIT_SHARES["valid"]:
        return "valid"
    return "train"


def iter_records(out: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((out / "records").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def read_split(out: Path, split: str) -> list[dict[str, Any]]:
    path = out / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `codegraph train mine split --data {out}` first")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def classify(rec: dict[str, Any]) -> str | None:
    """The kind of a record's edit, derived again from its two lines (records of older miners agree)."""
    bt, ft = line_tokens(rec["buggy_line"]), line_tokens(rec["fixed_line"])
    if bt is None or ft is None:
        return None
    edit = one_token_edit(bt, ft, rec["buggy_line"], rec["fixed_line"])
    return None if edit is None else edit.kind


def fix_key(rec: dict[str, Any]) -> str:
    text = rec["buggy_function"] + "\x00" + rec["buggy_line"].strip() + "\x00" + rec["fixed_line"].strip()
    return hashlib.sha256(text.encode()).hexdigest()


def split(out: Path) -> dict[str, Counter]:
    """Deduplicate across repositories, write ``OUT/{train,valid,test}.jsonl``; counts per split and rule."""
    seen: set[str] = set()
    handles = {s: (out / f"{s}.jsonl.tmp").open("w", encoding="utf-8") for s in SPLITS}
    counts: dict[str, Counter] = {s: Counter() for s in SPLITS}
    try:
        for rec in iter_records(out):
            key = fix_key(rec)
            if key in seen:
                continue
            seen.add(key)
            kind = classify(rec)
            if kind is None:
                continue
            rec["kind"], rec["rule"] = kind, KIND_RULE.get(kind, "other")
            s = split_of(rec["repo"])
            rec["split"] = s
            handles[s].write(json.dumps(rec, ensure_ascii=False) + "\n")
            counts[s][rec["rule"]] += 1
    finally:
        for fh in handles.values():
            fh.close()
    for s in SPLITS:
        (out / f"{s}.jsonl.tmp").replace(out / f"{s}.jsonl")
    return counts


def summaries(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "records").glob("*.json"))]


def report(out: Path) -> str:
    """Markdown: repositories, commits, yield per 1,000 commits, fixes per rule and split."""
    sums = summaries(out)
    by_split: dict[str, dict[str, int]] = {s: Counter() for s in SPLITS}
    for s in sums:
        sp = split_of(s["repo"])
        by_split[sp]["repos"] += 1
        by_split[sp]["commits"] += s["commits"]
        by_split[sp]["raw"] += s["fixes"]
    counts: dict[str, Counter] = {}
    for sp in SPLITS:
        try:
            counts[sp] = Counter(r["rule"] for r in read_split(out, sp))
        except FileNotFoundError:
            counts[sp] = Counter()
    rules = [f"CG00{k}" for k in range(1, 9)] + ["other"]
    lines = [
        "| split | repositories | commits | fixes (deduplicated) | per 1,000 commits |",
        "|---|---:|---:|---:|---:|",
    ]
    tot: Counter[str] = Counter()
    for sp in SPLITS:
        n = sum(counts[sp].values())
        c = by_split[sp]["commits"]
        tot["repos"] += by_split[sp]["repos"]
        tot["commits"] += c
        tot["n"] += n
        lines.append(f"| {sp} | {by_split[sp]['repos']} | {c:,} | {n:,} | {1000 * n / max(c, 1):.2f} |")
    lines.append(
        f"| all | {tot['repos']} | {tot['commits']:,} | {tot['n']:,} "
        f"| {1000 * tot['n'] / max(tot['commits'], 1):.2f} |"
    )
    lines += ["", "| rule | " + " | ".join(SPLITS) + " | all |", "|---|" + "---:|" * (len(SPLITS) + 1)]
    for r in rules:
        row = [counts[sp][r] for sp in SPLITS]
        lines.append(f"| {r} | " + " | ".join(f"{v:,}" for v in row) + f" | {sum(row):,} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph train mine", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="action")
    for name in ("run", None):
        q = (
            p
            if name is None
            else sub.add_parser(name, help="mine the pinned repositories (the default action)")
        )
        q.add_argument("--pins", type=Path, default=DEFAULT_PINS, help="owner/name [SHA] a line")
        q.add_argument("--mirrors", type=Path, default=Path("data/mirrors"), help="bare mirrors or clones")
        q.add_argument("--out", type=Path, default=DEFAULT_OUT)
        q.add_argument("--clone", action="store_true", help="clone missing repositories from GitHub")
        q.add_argument("--delete", action="store_true", help="delete each mirror once mined")
        q.add_argument("--jobs", type=int, default=1, help="repositories mined at once (default 1)")
        q.add_argument("--only", nargs="*", default=None, help="mine these repositories only")
    s = sub.add_parser(
        "split", help="deduplicate across repositories and split train/valid/test by repository"
    )
    s.add_argument("--data", type=Path, default=DEFAULT_OUT)
    w = sub.add_parser("pins", help="write the pin list (owner/name HEAD) of every mined repository")
    w.add_argument("--data", type=Path, default=DEFAULT_OUT)
    w.add_argument("--out", type=Path, default=DEFAULT_PINS)
    r = sub.add_parser("report", help="print counts per split and rule, and the yield per 1,000 commits")
    r.add_argument("--data", type=Path, default=DEFAULT_OUT)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.action == "split":
        counts = split(args.data)
        for sp in SPLITS:
            print(f"{sp}: {sum(counts[sp].values())} fixes {dict(sorted(counts[sp].items()))}")
        return 0
    if args.action == "report":
        print(report(args.data), end="")
        return 0
    if args.action == "pins":
        mined = [Pin(s["repo"], s["head"]) for s in summaries(args.data)]
        write_pins(args.out, sorted(mined, key=lambda p: p.repo.lower()), pins_header(args.out))
        print(f"{args.out}: {len(mined)} repositories")
        return 0
    try:
        pins = read_pins(args.pins)
    except (OSError, MineError) as exc:
        print(f"codegraph train mine: {exc}", file=sys.stderr)
        return 2
    if args.only:
        wanted = {o.lower() for o in args.only}
        pins = [p for p in pins if p.repo.lower() in wanted]
    mine(pins, args.mirrors, args.out, do_clone=args.clone, delete=args.delete, jobs=args.jobs, log=print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def fixed_source(rec: dict[str, Any]) -> str:
    """The fixed text of a record: its buggy ``source`` with ``fixed_line`` as line ``line``."""
    lines = rec["source"].splitlines(keepends=True)
    k = rec["line"] - 1
    ending = lines[k][len(lines[k].rstrip("\r\n")) :]
    lines[k] = rec["fixed_line"] + ending
    return "".join(lines)


# --------------------------------------------------------------------------- the units of a record


def byte_range(source: str, rec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(bug start, bug end, line start, line end) byte offsets of a record in its UTF-8 source."""
    lines = source.splitlines(keepends=True)
    line = rec["bug"]["line"]
    line_start = sum(len(t.encode("utf-8")) for t in lines[: line - 1])
    text = lines[line - 1]
    col, end = rec["bug"]["column"] - 1, rec["bug"]["end_column"] - 1
    start = line_start + len(text[:col].encode("utf-8"))
    stop = line_start + len(text[:end].encode("utf-8"))
    return start, stop, line_start, line_start + len(text.rstrip("\r\n").encode("utf-8"))


def innermost_function(graph: Any, byte: int) -> Any:
    """The FunctionInfo of the innermost function whose text holds ``byte``; at module level the
    module's own unit (:func:`~codegraph.rules.module_function`), as scans analyse it."""
    from codegraph.rules import module_function

    best, size = None, None
    for f in graph.functions:
        s, e = graph.start_byte[f.node], graph.end_byte[f.node]
        if s <= byte < e and (size is None or e - s < size):
            best, size = f, e - s
    return module_function(graph) if best is None else best


def function_units(graph: Any, funcs: Sequence[Any], budget: int) -> list[Any]:
    from codegraph.context import ContextBuilder
    from codegraph.scope_analysis import scopes_of

    builder = ContextBuilder(graph, scopes_of(graph), None, budget=budget)
    return [builder.build(f) for f in funcs]


def _squash(text: bytes) -> bytes:
    return b"".join(text.split())


def line_repairs(
    source: bytes, candidates: Sequence[Any], line_start: int, line_end: int, want: str, *, loose: bool
) -> list[tuple[int, int]]:
    """Every (candidate, repair) whose repair, applied to the line ``source[line_start:line_end]``,
    gives ``want`` (``loose``: also equal up to whitespace), in candidate and repair order."""
    line = source[line_start:line_end]
    target = want.encode("utf-8")
    hits = []
    for ci, cand in enumerate(candidates):
        for ri, rep in enumerate(cand.repairs):
            if not (line_start <= rep.start_byte <= rep.end_byte <= line_end):
                continue
            a, b = rep.start_byte - line_start, rep.end_byte - line_start
            new = line[:a] + rep.replacement.encode("utf-8") + line[b:]
            if new == target or (loose and _squash(new) == _squash(target)):
                hits.append((ci, ri))
    return hits
