"""`codegraph candidates PATH...`: every candidate location with every repair the model would score.

No model is loaded. One entry per (location, repair), in the finding shape of
`codegraph scan --format json` without ``confidence``, ``message`` and ``related``;
``fix`` is always set. ``--format json`` prints::

    {"version": ..., "candidates": [{"path", "line", "column", "end_line", "end_column",
      "rule", "name", "function", "fix": {...}}, ...], "errors": [{"path", "message"}, ...]}

so that what the detector can express (is a real fix among the candidates?) can be
measured from outside the project. The candidates are those of the units a scan
builds: the same files, project context, node budget and rule selection.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from codegraph import __version__
from codegraph.config import ConfigError
from codegraph.files import display_path
from codegraph.findings import CandidateFix, FileError
from codegraph.pipeline import Analyzer, candidate_fixes
from codegraph.scan import UsageError, add_analysis_options, project_root, resolve_settings, select_files

FORMATS = ("text", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codegraph candidates",
        description="List every candidate bug location and repair the model would score (no model needed).",
        epilog="Exit status: 0 listed, 2 usage or configuration error.",
        allow_abbrev=False,
    )
    add_analysis_options(parser)  # the files and settings a scan would analyse (model options unused)
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    return parser


def collect(
    files: Sequence[Path], analyzer: Analyzer, root: Path
) -> tuple[list[CandidateFix], list[FileError]]:
    """The candidates of every file (paths relative to the cwd when under it), and the files' errors."""
    from codegraph.project import Project

    project = Project(root)
    enabled = analyzer.settings.enabled_rules()
    out: list[CandidateFix] = []
    errors: list[FileError] = []
    cwd = Path.cwd()
    for f in files:
        shown = display_path(f, cwd)
        try:
            source = f.read_bytes()
        except OSError as exc:
            errors.append(FileError(shown, f"cannot read: {exc.strerror or exc}"))
            continue
        prepared = analyzer.prepare(str(f), source, project)
        errors += [replace(e, path=shown) for e in prepared.analysis.errors]
        for unit in analyzer.units(prepared):
            if prepared.graph is not None:
                out += [c for c in candidate_fixes(prepared.graph, unit, shown) if c.rule in enabled]
    return out, errors


def to_json(candidates: Sequence[CandidateFix], errors: Sequence[FileError]) -> dict[str, object]:
    return {
        "version": __version__,
        "candidates": [c.to_json() for c in candidates],
        "errors": [e.to_json() for e in errors],
    }


def render_text(candidates: Sequence[CandidateFix], errors: Sequence[FileError]) -> str:
    """One line per (location, repair), then the files' errors and a count."""
    rows = [
        f"{c.path}:{c.line}:{c.column}: {c.rule} [{c.name}] `{c.current}` -> `{c.fix.replacement}` "
        f"({c.function})"
        for c in candidates
    ]
    rows += [f"{e.path}: error: {e.message}" for e in errors]
    functions = len({(c.path, c.function) for c in candidates})
    locations = len({(c.path, c.line, c.column, c.end_line, c.end_column, c.rule) for c in candidates})
    rows.append(f"{len(candidates)} repairs at {locations} locations in {functions} functions")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        settings = resolve_settings(args)
        selection = select_files(args, settings)
    except (UsageError, ConfigError) as exc:
        print(f"codegraph candidates: error: {exc}", file=sys.stderr)
        return 2
    analyzer = Analyzer(settings)
    candidates, errors = collect(selection.files, analyzer, project_root(settings, list(args.paths)))
    errors = [*selection.walk_errors, *errors]
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(candidates, errors), indent=1, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(candidates, errors))
    return 0
