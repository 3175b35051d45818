"""The server's settings: flags > editor settings > [tool.codegraph] in pyproject.toml > defaults.

Editor settings arrive under the key ``codegraph`` (design §4) as initializationOptions,
workspace/didChangeConfiguration or a workspace/configuration answer:
``{"minConfidence": float, "select": [codes], "ignore": [codes], "enable": bool}``.
Missing keys, and keys whose value is null (an editor's "not set"), keep the
project's configuration or the defaults. ``debounce`` (milliseconds) is a
server-only key; keys that belong to the editor client (``interpreter``, ``trace``)
are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from codegraph.config import ConfigError, Settings, load_settings, settings_from_table

SECTION = "codegraph"
#: server-only keys: how long to wait after an edit before analysing
DEBOUNCE_KEY = "debounce"
DEFAULT_DEBOUNCE_MS = 300
#: keys the editor client uses for itself
CLIENT_KEYS = frozenset({"interpreter", "trace", "serverArgs", "path"})


@dataclass(frozen=True)
class Flags:
    """Command-line overrides of `codegraph lsp` (None: not given)."""

    min_confidence: float | None = None
    select: frozenset[str] | None = None
    ignore: frozenset[str] | None = None
    model: str | None = None
    debounce_ms: int | None = None


@dataclass(frozen=True)
class Resolved:
    """The settings in force, the debounce delay, and one-line problems to show the user."""

    settings: Settings
    debounce: float
    problems: tuple[str, ...] = ()


#: the keys an editor may send in the `codegraph` section
EDITOR_KEYS = frozenset(
    {"minConfidence", "min-confidence", "min_confidence", "select", "ignore", "enable", "model", "budget",
     "exclude", "jobs", DEBOUNCE_KEY}
) | CLIENT_KEYS  # fmt: skip


def editor_section(value: Any) -> dict[str, Any]:
    """The ``codegraph`` object out of initializationOptions / a configuration payload ({} if absent).

    Accepts ``{"codegraph": {...}}`` and, from clients that send the section itself, a
    flat ``{"minConfidence": ...}`` (recognised by its keys).
    """
    if not isinstance(value, dict):
        return {}
    if SECTION in value:
        section = value[SECTION]
        return dict(section) if isinstance(section, dict) else {}
    return dict(value) if value and set(value) <= EDITOR_KEYS else {}


def _debounce_ms(editor: dict[str, Any], flags: Flags, problems: list[str]) -> int:
    if flags.debounce_ms is not None:
        return flags.debounce_ms
    value = editor.get(DEBOUNCE_KEY)
    if value is None:
        return DEFAULT_DEBOUNCE_MS
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"editor settings: `{DEBOUNCE_KEY}` must be a number of milliseconds, got {value!r}")
        return DEFAULT_DEBOUNCE_MS
    return int(value)


def _absolute_model(settings: Settings, root: Path | None) -> Settings:
    """Resolve a relative `model` path against its pyproject.toml's folder (or the workspace root)."""
    if settings.model is None or Path(settings.model).is_absolute():
        return settings
    base = Path(settings.source).parent if settings.source else (root or Path.cwd())
    return replace(settings, model=str((base / settings.model).resolve()))


def resolve(root: Path | None, editor: dict[str, Any], flags: Flags) -> Resolved:
    """Combine defaults, pyproject, editor settings and flags; a bad layer is reported and skipped."""
    problems: list[str] = []
    try:
        settings = _absolute_model(load_settings(root) if root else Settings(), root)
    except ConfigError as exc:
        problems.append(str(exc))
        settings = Settings()
    table = {k: v for k, v in editor.items() if v is not None and k != DEBOUNCE_KEY and k not in CLIENT_KEYS}
    if isinstance(table.get("model"), str) and not Path(table["model"]).is_absolute():
        table["model"] = str(((root or Path.cwd()) / table["model"]).resolve())
    try:
        settings = settings_from_table(table, "editor settings", settings)
    except ConfigError as exc:
        problems.append(str(exc).replace("in [tool.codegraph]", "in the `codegraph` settings"))
    settings = settings.merged(
        min_confidence=flags.min_confidence, select=flags.select, ignore=flags.ignore, model=flags.model
    )
    return Resolved(settings, _debounce_ms(editor, flags, problems) / 1000.0, tuple(problems))
