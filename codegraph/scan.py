"""`codegraph scan`: find bugs in files or directories, for people, CI and pre-commit.

A thin command over :mod:`codegraph.pipeline`: pick the files (:mod:`codegraph.files`),
analyse them (:mod:`codegraph.engine`: the cache, batches, worker processes, and
:mod:`codegraph.filters`), keep the findings on changed lines (``--diff``) and not in
the baseline (``--baseline``), and report (:mod:`codegraph.report`).

Exit status: 0 nothing at or above the threshold, 1 findings, 2 usage, configuration
or internal error (one line on stderr; ``--debug`` adds the traceback).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegraph.arguments import Parser
from codegraph.baseline import Baseline
from codegraph.command import CommandError, command
from codegraph.config import KEYS, Settings, load_settings, parse_codes, settings_toml
from codegraph.engine import Advance, Engine, source_lines
from codegraph.files import (
    ChangedLines,
    ExcludeRules,
    GitError,
    PathNotFound,
    changed_lines,
    collect_files,
    display_path,
    find_git_root,
    valid_pattern,
)
from codegraph.filters import on_changed_lines
from codegraph.findings import FileError, Finding, ScanResult
from codegraph.pipeline import Analyzer, FileAnalysis
from codegraph.report import FORMATS, ReportMeta, read_lines, render
from codegraph.rules import RULES_BY_CODE

if TYPE_CHECKING:
    pass


class UsageError(CommandError):
    """Bad input on the command line or in the configuration: exit status 2 with this message."""


# -- command line --------------------------------------------------------------------------------
def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _jobs(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return int(text)


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `scan` and `fix`: what to analyse and with which settings."""
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or directories (default: .)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file: a pyproject.toml ([tool.codegraph]) or a codegraph.toml (top-level keys)",
    )
    parser.add_argument(
        "--min-confidence", type=_confidence, metavar="X", help="report findings with confidence >= X (0..1)"
    )
    parser.add_argument("--select", metavar="CODES", help="rule codes or prefixes to enable, comma-separated")
    parser.add_argument(
        "--extend-select", metavar="CODES", help="rule codes or prefixes to enable as well, comma-separated"
    )
    parser.add_argument(
        "--ignore", metavar="CODES", help="rule codes or prefixes to disable, comma-separated"
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="also skip paths matching GLOB (gitignore syntax, relative to the cwd; repeatable)",
    )
    parser.add_argument(
        "--extend-exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="the same as --exclude: more globs beside the configured `exclude` and `extend-exclude`",
    )
    parser.add_argument("--model", metavar="FILE", help="checkpoint to use instead of the shipped model")
    parser.add_argument("--jobs", "-j", type=_jobs, metavar="N", help="worker processes (0: automatic)")
    parser.add_argument("--no-cache", action="store_true", help="analyse every file, read and write no cache")
    parser.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="cache directory (default: .codegraph_cache)"
    )
    parser.add_argument("--diff", metavar="REF", help="only report findings on lines changed since git REF")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.add_argument("--debug", action="store_true", help="print tracebacks of internal errors")


EPILOG = f"""\
Configuration: the nearest .codegraph.toml, codegraph.toml (top-level keys) or pyproject.toml
([tool.codegraph]) at or above the first PATH, or --config FILE; flags override it.
Keys: {", ".join(KEYS)}.
Exit status: 0 no findings (or --exit-zero), 1 findings, 2 usage, configuration or internal error."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="codegraph scan",
        description="Find likely bugs (misused variables, swapped arguments, wrong operators...). "
        "PATH `-` reads one file from stdin.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_analysis_options(parser)
    parser.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with PATH `-`: the path the text read from stdin is reported under (default: stdin.py)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=list(FORMATS),
        default="text",
        help="report format: text (= full: a code frame per finding), concise (one line per finding), "
        "json, sarif, github (default: text)",
    )
    out.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE")
    out.add_argument(
        "--statistics", action="store_true", help="print the number of findings per rule, not the findings"
    )
    out.add_argument(
        "--quiet", "-q", action="store_true", help="print the findings only: no summary line, no warnings"
    )
    out.add_argument("--exit-zero", action="store_true", help="exit status 0 even when findings are reported")
    out.add_argument(
        "--project-root",
        type=Path,
        metavar="DIR",
        help="what SARIF URIs are relative to (%%SRCROOT%%; default: the git work tree, else the cwd)",
    )
    out.add_argument("--baseline", type=Path, metavar="FILE", help="hide the findings recorded in FILE")
    out.add_argument(
        "--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE (exit status 0)"
    )
    act = parser.add_argument_group("instead of a report")
    act.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CGxxx` to the lines of today's findings (keeping the codes already there)",
    )
    act.add_argument(
        "--show-settings", action="store_true", help="print the settings in force and where they come from"
    )
    act.add_argument("--show-files", action="store_true", help="print the files a scan would analyse")
    return parser


def resolve_settings(args: argparse.Namespace) -> Settings:
    """The configuration file (the nearest one, or --config), overridden by the flags."""
    start = args.paths[0] if args.paths else Path.cwd()
    settings = load_settings(start if start.exists() else Path.cwd(), args.config)
    if settings.model and settings.source and not Path(settings.model).is_absolute():
        # a checkpoint named in a configuration file is relative to it; one given as a flag, to the cwd
        settings = replace(settings, model=str(Path(settings.source).parent / settings.model))
    if args.extend_select is not None:
        settings = replace(
            settings, select=settings.select | parse_codes(args.extend_select, "--extend-select")
        )
    return settings.merged(
        min_confidence=args.min_confidence,
        select=parse_codes(args.select, "--select") if args.select is not None else None,
        ignore=parse_codes(args.ignore, "--ignore") if args.ignore is not None else None,
        model=args.model,
        jobs=args.jobs,
    )


def project_root(settings: Settings, paths: Sequence[Path]) -> Path:
    """Where the cache lives: the configuring pyproject.toml's directory, else the git work tree,
    else the first path (its directory for a file)."""
    if settings.source:
        return Path(settings.source).resolve().parent
    first = (paths[0] if paths else Path.cwd()).resolve()
    git = find_git_root(first)
    if git is not None:
        return git
    return first if first.is_dir() else first.parent


# -- filtering -------------------------------------------------------------------------------------
def _display(path: str, cwd: Path) -> str:
    return display_path(Path(path), cwd)


def for_display(analysis: FileAnalysis, cwd: Path) -> FileAnalysis:
    """Paths as reported: relative to ``cwd`` when under it."""

    def fix_finding(f: Finding) -> Finding:
        related = tuple(replace(r, path=_display(r.path, cwd)) for r in f.related)
        return replace(f, path=_display(f.path, cwd), related=related)

    return FileAnalysis(
        path=_display(analysis.path, cwd),
        findings=[fix_finding(f) for f in analysis.findings],
        errors=[replace(e, path=_display(e.path, cwd)) for e in analysis.errors],
        functions=analysis.functions,
        lines=analysis.lines,
    )


def collect_result(
    analyses: Sequence[FileAnalysis],
    files: Sequence[Path],
    changed: ChangedLines | None,
    cwd: Path,
) -> ScanResult:
    """The filtered analyses with --diff applied and paths for display, sorted."""
    result = ScanResult()
    for absolute, raw in zip(files, analyses, strict=True):
        real = absolute.resolve()
        shown = for_display(raw, cwd)
        for f in shown.findings:
            if changed is None or on_changed_lines(f, changed, real):
                result.findings.append(f)
        result.errors += shown.errors
        result.stats.functions += raw.functions
        result.stats.lines += raw.lines
        result.stats.files += 1
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule))
    return result


# -- the command ----------------------------------------------------------------------------------
@contextmanager
def progress_bar(enabled: bool, total: int) -> Iterator[Advance]:
    """A rich progress bar on stderr (only on a terminal); yields ``advance(n)``."""
    if not enabled or total == 0:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("scan", total=total)
    with progress:
        yield lambda n: progress.advance(task, n)


def _use_color(stream: Any) -> bool:
    """Colour on a terminal, as rich decides it (NO_COLOR, FORCE_COLOR and TERM=dumb honoured)."""
    from rich.console import Console

    console = Console(file=stream)
    return console.is_terminal and not console.no_color and console.color_system is not None


@dataclass
class Selection:
    """What a run analyses: the files, where the project (and the cache) is, what --diff allows."""

    root: Path
    files: list[Path]
    walk_errors: list[FileError]
    changed: ChangedLines | None
    #: text read from stdin, by the (absolute) path it is analysed under
    sources: dict[Path, bytes] = field(default_factory=dict)


STDIN = Path("-")
DEFAULT_STDIN_FILENAME = "stdin.py"


def stdin_selection(args: argparse.Namespace, settings: Settings) -> Selection:
    """PATH `-`: one file's text from stdin, analysed as --stdin-filename (its imports from disk)."""
    if len(args.paths) != 1:
        raise UsageError("`-` (stdin) cannot be combined with other paths")
    name = Path(getattr(args, "stdin_filename", None) or DEFAULT_STDIN_FILENAME)
    path = Path(os.path.normpath(Path.cwd() / name))
    changed = None
    if args.diff is not None:
        try:
            changed = changed_lines(args.diff, [path.parent if path.parent.exists() else Path.cwd()])
        except GitError as exc:
            raise UsageError(str(exc)) from None
    return Selection(project_root(settings, [path]), [path], [], changed, {path: sys.stdin.buffer.read()})


def select_files(args: argparse.Namespace, settings: Settings) -> Selection:
    if STDIN in args.paths:
        return stdin_selection(args, settings)
    if getattr(args, "stdin_filename", None):
        raise UsageError("--stdin-filename needs PATH `-` (the text on stdin)")
    paths: list[Path] = list(args.paths) or [Path(".")]
    exclude = ExcludeRules()
    base = Path(settings.source).parent if settings.source else Path.cwd()
    exclude.add((*settings.exclude, *settings.extend_exclude), base)
    bad = [p for p in (*args.exclude, *args.extend_exclude) if not valid_pattern(p)]
    if bad:
        raise UsageError(f"--exclude: invalid glob pattern {bad[0]!r}")
    exclude.add([*args.exclude, *args.extend_exclude], Path.cwd())
    try:
        walked = collect_files(paths, exclude)
    except PathNotFound as exc:
        raise UsageError(str(exc)) from None
    changed = None
    files = walked.files
    if args.diff is not None:
        try:
            changed = changed_lines(args.diff, paths)
        except GitError as exc:
            raise UsageError(str(exc)) from None
        files = [f for f in files if f.resolve() in changed]
    return Selection(project_root(settings, paths), files, walked.errors, changed)


def warn_rules_left_off(codes: Sequence[str]) -> None:
    """Say, in one line, which enabled rules the model was not trained with (they find nothing)."""
    if codes:
        named = ", ".join(f"{code} ({RULES_BY_CODE[code].name})" for code in codes)
        which = f"{codes[0]} is" if len(codes) == 1 else "they are"
        print(f"codegraph: the model was not trained with {named}; {which} left off", file=sys.stderr)


def run(args: argparse.Namespace, analyzer: Analyzer | None = None) -> tuple[ScanResult, Engine]:
    """Select, analyse and filter; the result has display paths. Raises UsageError, ConfigError."""
    start = time.perf_counter()
    settings = resolve_settings(args)
    sel = select_files(args, settings)
    engine = Engine(
        settings,
        sel.root,
        use_cache=not args.no_cache,
        cache_dir=args.cache_dir,
        debug=args.debug,
        analyzer=analyzer,
    )
    show_progress = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    engine.model_info()  # the checkpoint's identity (or a load error) before the progress bar starts
    if not getattr(args, "quiet", False):
        warn_rules_left_off(engine.rules_left_off())
    with progress_bar(show_progress, len(sel.files)) as advance:
        analyses = engine.analyze(sel.files, advance, sel.sources)
    result = collect_result(analyses, sel.files, sel.changed, Path.cwd())
    result.errors = sel.walk_errors + result.errors
    result.stats.seconds = time.perf_counter() - start
    if engine.cache.warning and not getattr(args, "quiet", False):
        print(f"codegraph: warning: {engine.cache.warning}", file=sys.stderr)
    return result, engine


@command("codegraph scan")
def main(argv: Sequence[str], analyzer: Analyzer | None = None) -> int:
    """`codegraph scan`; ``analyzer`` is injectable for tests."""
    return _scan(build_parser().parse_args(list(argv)), analyzer)


def _scan(args: argparse.Namespace, analyzer: Analyzer | None) -> int:
    if args.statistics and args.format not in ("text", "full", "concise", "json"):
        raise UsageError("--statistics prints text or json, not --format " + args.format)
    if args.show_settings or args.show_files:
        return _show(args)
    if args.add_noqa and STDIN in args.paths:
        raise UsageError("--add-noqa writes files: it cannot read stdin")
    baseline = Baseline.read(args.baseline) if args.baseline else None
    result, engine = run(args, analyzer)
    cwd = Path.cwd()

    def read(path: str) -> list[str]:
        given = engine.sources.get(Path(os.path.normpath(cwd / path)))
        return read_lines(path) if given is None else source_lines(given)

    lines = functools.lru_cache(maxsize=None)(read)  # each reported file is read once
    meta = ReportMeta(
        model=engine.model_info(),
        min_confidence=engine.settings.min_confidence,
        lines=lines,
        root=sarif_root(args),
    )
    if args.write_baseline:
        Baseline.from_findings(result.findings, lines).write(args.write_baseline)
    if baseline is not None:
        result.findings, meta.baseline_hidden = baseline.filter(result.findings, lines)
    if args.add_noqa:
        from codegraph.add_noqa import add_noqa

        added = add_noqa(result.findings, engine.source_hashes)
        if not args.quiet:
            files = len({f.path for f in added.findings})
            n = added.directives
            print(f"Added {n} noqa directive{'s' * (n != 1)} to {files} file{'s' * (files != 1)}.")
        for problem in added.skipped:
            print(f"codegraph scan: warning: {problem}", file=sys.stderr)
        return 2 if internal_errors(result) else 0
    if args.statistics:
        text = statistics(result, args.format == "json")
    else:
        meta.color = False if args.output else _use_color(sys.stdout)
        meta.summary_line = not args.quiet
        text = render(args.format, result, meta)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if internal_errors(result):
        return 2
    if args.write_baseline or args.exit_zero:  # everything found is now known / findings are not failures
        return 0
    return 1 if result.findings else 0


def internal_errors(result: ScanResult) -> bool:
    return any(e.kind.is_internal for e in result.errors)


def sarif_root(args: argparse.Namespace) -> Path:
    """SARIF's %SRCROOT%: --project-root, else the git work tree of the first path, else the cwd."""
    if args.project_root is not None:
        return args.project_root.resolve()
    first = next((p for p in args.paths if p != STDIN), Path.cwd())
    return find_git_root(first if first.exists() else Path.cwd()) or Path.cwd().resolve()


def statistics(result: ScanResult, as_json: bool) -> str:
    """The number of findings per rule, most frequent first (``--statistics``)."""
    from codegraph.rules import RULES_BY_CODE

    counts = Counter(f.rule for f in result.findings).most_common()
    rows = [{"code": code, "name": RULES_BY_CODE[code].name, "count": n} for code, n in counts]
    if as_json:
        return json.dumps(rows, indent=2) + "\n"
    width = max((len(str(r["count"])) for r in rows), default=1)
    return "".join(f"{r['count']:>{width}}  {r['code']}  {r['name']}\n" for r in rows)


def _show(args: argparse.Namespace) -> int:
    """--show-settings / --show-files: what a scan would use, without analysing anything."""
    settings = resolve_settings(args)
    if args.show_settings:
        sys.stdout.write(settings_toml(settings))
    if args.show_files:
        sel = select_files(args, settings)
        cwd = Path.cwd()
        sys.stdout.writelines(display_path(f, cwd) + "\n" for f in sel.files)
        for e in sel.walk_errors:
            print(f"{e.path}: error: {e.message}", file=sys.stderr)
    return 0
