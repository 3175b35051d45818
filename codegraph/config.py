"""Settings: defaults, `[tool.codegraph]` in pyproject.toml, then flags (later wins)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codegraph.rules import RULE_CODES

#: default confidence threshold, chosen on the validation packages for precision on injected bugs and few
#: flags on their released code (`codegraph threshold`, models/weights/THRESHOLD.md)
DEFAULT_MIN_CONFIDENCE = 0.97
DEFAULT_BUDGET = 1500


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Settings:
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    select: frozenset[str] = frozenset(RULE_CODES)
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    model: str | None = None  # checkpoint path; None: the shipped model
    budget: int = DEFAULT_BUDGET  # graph nodes per analysis unit
    enable: bool = True
    jobs: int = 0  # worker processes for scans; 0: automatic
    source: str | None = field(default=None, compare=False)  # the pyproject.toml it came from

    def enabled_rules(self) -> frozenset[str]:
        return self.select - self.ignore

    def merged(self, **overrides: Any) -> Settings:
        """A copy with the given keys replaced (None values keep the current setting)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


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
            raise ConfigError(f"{where}: unknown rule code {v!r} in `{key}` (known: {', '.join(RULE_CODES)})")
        codes |= matched
    return frozenset(codes)


def parse_codes(text: str, key: str = "--select") -> frozenset[str]:
    """Parse a comma-separated list of rule codes or prefixes from a flag."""
    return _codes([p for p in text.split(",") if p.strip()], key, "command line")


def settings_from_table(table: dict[str, Any], where: str, base: Settings | None = None) -> Settings:
    """Validate a `[tool.codegraph]` table (or an editor's settings object) into Settings."""
    s = base or Settings()
    known = {
        "min-confidence", "min_confidence", "minConfidence", "select", "ignore", "exclude",
        "model", "budget", "enable", "jobs",
    }  # fmt: skip
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in [tool.codegraph]")
    out: dict[str, Any] = {}
    for key in ("min-confidence", "min_confidence", "minConfidence"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"{where}: `{key}` must be a number between 0 and 1, got {v!r}")
            out["min_confidence"] = float(v)
    if "select" in table:
        out["select"] = _codes(table["select"], "select", where)
    if "ignore" in table:
        out["ignore"] = _codes(table["ignore"], "ignore", where)
    if "exclude" in table:
        v = table["exclude"]
        if not isinstance(v, list) or not all(isinstance(p, str) for p in v):
            raise ConfigError(f"{where}: `exclude` must be a list of glob patterns")
        out["exclude"] = tuple(v)
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
            out[key] = v
    return replace(s, **out)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a [tool.codegraph] table."""
    start = start.resolve()
    for d in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        p = d / "pyproject.toml"
        if p.is_file():
            try:
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{p}: invalid TOML: {exc}") from None
            if "codegraph" in data.get("tool", {}):
                return p
    return None


def load_settings(start: Path | None = None, config_file: Path | None = None) -> Settings:
    """Defaults, overridden by [tool.codegraph] of the nearest pyproject.toml (or ``config_file``)."""
    path = config_file or find_pyproject(start or Path.cwd())
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("codegraph", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.codegraph] must be a table")
    return replace(settings_from_table(table, str(path)), source=str(path))
