"""`codegraph rules [CODE]`: list the rules, or print one rule's documentation."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from codegraph.arguments import Parser
from codegraph.command import CommandError, command
from codegraph.config import did_you_mean
from codegraph.rules import ALL_RULES, RULES_BY_CODE, Rule


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="codegraph rules", description="List the rules, or explain one.")
    parser.add_argument(
        "rule", nargs="?", metavar="CODE", help="a rule code (CG001) or name (variable-misuse)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    return parser


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (any case) or by name."""
    key = key.strip()
    return RULES_BY_CODE.get(key.upper()) or next((r for r in ALL_RULES if r.name == key.lower()), None)


def rule_json(rule: type[Rule]) -> dict[str, str]:
    return {"code": rule.code, "name": rule.name, "summary": rule.summary, "docs": rule.help()}


def table() -> str:
    width = max(len(r.name) for r in ALL_RULES)
    return "\n".join(f"{r.code}  {r.name:<{width}}  {r.summary}" for r in ALL_RULES) + "\n"


def explain(rule: type[Rule]) -> str:
    return f"# {rule.name} ({rule.code})\n\n{rule.help()}\n"


#: the rules' documentation in the repository, one Markdown file per rule (SARIF's helpUri links here)
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "rules"


def write_docs(directory: Path = DOCS_DIR) -> list[Path]:
    """Write ``CGxxx.md`` for every rule (what ``codegraph rules CGxxx`` prints); `make docs` runs it."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for rule in ALL_RULES:
        path = directory / f"{rule.code}.md"
        path.write_text(explain(rule), encoding="utf-8")
        out.append(path)
    return out


@command("codegraph rules")
def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.rule is None:
        if args.format == "json":
            print(json.dumps([rule_json(r) for r in ALL_RULES], indent=2))
        else:
            sys.stdout.write(table())
        return 0
    rule = find_rule(args.rule)
    if rule is None:
        known = ", ".join(RULES_BY_CODE)
        names = [*RULES_BY_CODE, *(r.name for r in ALL_RULES)]
        hint = did_you_mean(args.rule.upper() if args.rule.upper().startswith("CG") else args.rule, names)
        raise CommandError(f"unknown rule {args.rule!r}{hint} (known: {known})")
    if args.format == "json":
        print(json.dumps(rule_json(rule), indent=2))
    else:
        sys.stdout.write(explain(rule))
    return 0
