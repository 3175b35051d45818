"""Settings: defaults, then a configuration file, then flags (later wins).

The configuration file is the nearest, walking up from the first path scanned, of
``.codegraph.toml`` / ``codegraph.toml`` (settings as top-level keys) and ``pyproject.toml``
(settings under ``[tool.codegraph]``; one without that table is passed over). Within one
directory they are looked for in that order and the first found is the only one read.
``--config FILE`` names the file instead: a file named ``pyproject.toml`` is read as one,
any other as a standalone file (or, when all it holds is a [tool.codegraph] table, that
table). Unknown keys, and keys in the wrong place, are an error.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from codegraph.command import CommandError
from codegraph.files import valid_pattern
from codegraph.rules import ALL_RULES, RULE_CODES, RULES_BY_CODE

#: default confidence threshold, chosen on real fixes (`codegraph train realfixes threshold`, `make realfix`):
#: the highest recall of the validation fixes with at most 2% of their fixed functions flagged and at most
#: 0.3 findings per 1,000 lines of released code (the fixes' files, the corpus's validation packages)
DEFAULT_MIN_CONFIDENCE = 0.53
DEFAULT_BUDGET = 1500
#: a smaller unit cannot hold a function with its candidates: nothing would be analysed, silently
MIN_BUDGET = 100


class ConfigError(CommandError, ValueError):
    """The configuration cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Settings:
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    select: frozenset[str] = frozenset(RULE_CODES)
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()  # more globs, beside `exclude`
    model: str | None = None  # checkpoint path; None: the shipped model
    budget: int = DEFAULT_BUDGET  # graph nodes per analysis unit
    enable: bool = True
    jobs: int = 0  # worker processes for scans; 0: automatic
    #: (glob, codes) pairs: codes ignored in the files a glob matches (relative to ``source``'s folder)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    source: str | None = field(default=None, compare=False)  # the configuration file it came from

    def enabled_rules(self) -> frozenset[str]:
        return self.select - self.ignore

    def merged(self, **overrides: Any) -> Settings:
        """A copy with the given keys replaced (None values keep the current setting)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _codes(value: Any, key: str, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: `{key}` must be a list of rule codes like ["CG001"]')
    codes = set()
    for v in value:
        v = v.strip().upper()
        if v in ("ALL", "CG"):
            codes |= set(RULE_CODES)
            continue
        matched = {c for c in RULE_CODES if c.startswith(v)} if v.startswith("CG") else set()
        if not matched:
            by_name = {r.name.upper(): r.code for r in ALL_RULES}
            close = difflib.get_close_matches(v, [*RULE_CODES, *by_name], n=1, cutoff=0.6)
            hint = ""
            if close:
                code = by_name.get(close[0], close[0])
                hint = f" (did you mean {code!r}, {RULES_BY_CODE[code].name}?)"
            raise ConfigError(
                f"{where}: unknown rule code {v!r} in `{key}`{hint} (known: {', '.join(RULE_CODES)})"
            )
        codes |= matched
    return frozenset(codes)


def _per_file_ignores(value: Any, where: str) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: `per-file-ignores` must be a table like {{"tests/*" = ["CG006"]}}')
    out = []
    for glob, codes in value.items():
        out.append((glob, _codes(codes, f"per-file-ignores.{glob!r}", where)))
    return tuple(out)


def parse_codes(text: str, key: str = "--select") -> frozenset[str]:
    """Parse a comma-separated list of rule codes or prefixes from a flag."""
    return _codes([p for p in text.split(",") if p.strip()], key, "command line")


#: the keys of a configuration table, as written in files (kebab-case)
KEYS: tuple[str, ...] = (
    "min-confidence", "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
    "model", "budget", "enable", "jobs",
)  # fmt: skip
#: other spellings accepted for a key (the editor's settings use camelCase)
ALIASES = {
    "min_confidence": "min-confidence",
    "minConfidence": "min-confidence",
    "extend_exclude": "extend-exclude",
}


def unknown_keys_error(
    keys: Iterable[str], where: str, table: str, known: Iterable[str] = KEYS
) -> ConfigError:
    """One error naming every unknown key, each with its closest known key."""
    keys, known = list(keys), list(known)
    names = ", ".join(f"{k!r}{did_you_mean(k, known)}" for k in keys)
    return ConfigError(f"{where}: unknown {'key' if len(keys) == 1 else 'keys'} {names} in {table}")


def settings_from_table(
    table: dict[str, Any], where: str, base: Settings | None = None, table_name: str = "[tool.codegraph]"
) -> Settings:
    """Validate a configuration table (or an editor's settings object) into Settings."""
    s = base or Settings()
    unknown = sorted(k for k in table if k not in KEYS and k not in ALIASES)
    if unknown:
        raise unknown_keys_error(unknown, where, table_name)
    out: dict[str, Any] = {}
    for key in ("min-confidence", "min_confidence", "minConfidence"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"{where}: `{key}` must be a number between 0 and 1, got {v!r}")
            out["min_confidence"] = float(v)
    if "select" in table:
        out["select"] = _codes(table["select"], "select", where)
    if "extend-select" in table:
        out["select"] = out.get("select", s.select) | _codes(table["extend-select"], "extend-select", where)
    if "ignore" in table:
        out["ignore"] = _codes(table["ignore"], "ignore", where)
    if "per-file-ignores" in table:
        out["per_file_ignores"] = _per_file_ignores(table["per-file-ignores"], where)
    for key, attr in (
        ("exclude", "exclude"),
        ("extend-exclude", "extend_exclude"),
        ("extend_exclude", "extend_exclude"),
    ):
        if key in table:
            v = table[key]
            if not isinstance(v, list) or not all(isinstance(p, str) for p in v):
                raise ConfigError(f"{where}: `{key}` must be a list of glob patterns")
            bad = [p for p in v if not valid_pattern(p)]
            if bad:
                raise ConfigError(f"{where}: `{key}` holds an invalid glob pattern: {bad[0]!r}")
            out[attr] = tuple(v)
    if "model" in table:
        if not isinstance(table["model"], str):
            raise ConfigError(f"{where}: `model` must be a path")
        out["model"] = table["model"]
    for key, typ in (("budget", int), ("jobs", int), ("enable", bool)):
        if key in table:
            v = table[key]
            if not isinstance(v, typ) or (typ is int and (isinstance(v, bool) or v < 0)):
                raise ConfigError(
                    f"{where}: `{key}` must be a {'boolean' if typ is bool else 'whole number'}"
                )
            if key == "budget" and v < MIN_BUDGET:
                raise ConfigError(
                    f"{where}: `budget` must be at least {MIN_BUDGET} graph nodes per unit"
                    f" (default {DEFAULT_BUDGET}), got {v}"
                )
            out[key] = v
    return replace(s, **out)


#: configuration files looked for in each directory, in this order (the first found wins)
CONFIG_FILES = (".codegraph.toml", "codegraph.toml", "pyproject.toml")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _codegraph_table(data: dict[str, Any], path: Path) -> Any:
    """``[tool.codegraph]`` of a parsed pyproject.toml (None when absent); ConfigError when ``tool``
    is not a table (``tool = 3``, ``tool = "codegraph"``)."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table ([tool.codegraph]), got {type(tool).__name__}")
    return tool.get("codegraph")


def is_pyproject(path: Path) -> bool:
    return path.name == "pyproject.toml"


def find_config(start: Path) -> Path | None:
    """The configuration file for ``start``: walking up from it, the first directory holding a
    ``.codegraph.toml``, a ``codegraph.toml`` or a ``pyproject.toml`` with a [tool.codegraph] table
    (in that order of precedence within a directory)."""
    start = start.resolve()
    for d in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        for name in CONFIG_FILES:
            p = d / name
            if not p.is_file():
                continue
            if not is_pyproject(p) or _codegraph_table(_read_toml(p), p) is not None:
                return p
    return None


def table_of(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The settings table of a configuration file and its name: [tool.codegraph] of a pyproject.toml,
    the top level of any other file. Keys in the wrong place are an error."""
    if is_pyproject(path):
        misplaced = sorted(k for k in data if k in KEYS or k in ALIASES)
        table = _codegraph_table(data, path)
        if misplaced:
            names = ", ".join(repr(k) for k in misplaced)
            raise ConfigError(f"{path}: {names} must be under [tool.codegraph] in a pyproject.toml")
        if table is None:
            raise ConfigError(f"{path}: no [tool.codegraph] table")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.codegraph] must be a table")
        return table, "[tool.codegraph]"
    tool = data.get("tool")
    if isinstance(tool, dict) and "codegraph" in tool:  # a pyproject.toml-style file under another name
        if set(data) != {"tool"}:
            raise ConfigError(
                f"{path}: settings are either top-level keys or under [tool.codegraph], not both"
            )
        return table_of(path.with_name("pyproject.toml"), data)[0], "[tool.codegraph]"
    return data, path.name


def load_settings(start: Path | None = None, config_file: Path | None = None) -> Settings:
    """Defaults, overridden by the configuration file found for ``start`` (or ``config_file``)."""
    path = config_file or find_config(start or Path.cwd())
    if path is None:
        return Settings()
    table, name = table_of(path, _read_toml(path))
    return replace(settings_from_table(table, str(path), table_name=name), source=str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        value = sorted(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def settings_toml(settings: Settings) -> str:
    """The settings in force as configuration-file lines (``--show-settings``)."""
    lines = [f"# configuration file: {settings.source or 'none (the defaults)'}"]
    for f in fields(settings):
        if f.name == "source":
            continue
        value = getattr(settings, f.name)
        if f.name == "per_file_ignores":
            value = dict(value)  # a table: glob = codes
        key = f.name.replace("_", "-")
        if value is None:
            lines.append(f"# {key}: not set" + (" (the shipped model)" if f.name == "model" else ""))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
