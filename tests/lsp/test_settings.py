"""Settings precedence: flags > editor settings > [tool.codegraph] > defaults."""

from __future__ import annotations

from pathlib import Path

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.lsp.settings import Flags, editor_section, resolve


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(f"[tool.codegraph]\n{body}\n", encoding="utf-8")


def test_defaults_without_anything(tmp_path: Path) -> None:
    r = resolve(tmp_path, {}, Flags())
    assert r.settings.min_confidence == DEFAULT_MIN_CONFIDENCE
    assert r.debounce == 0.3 and r.problems == ()


def test_layers_override_in_order(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'min-confidence = 0.5\nignore = ["CG002"]\nmodel = "weights/m.safetensors"')
    r = resolve(tmp_path, {}, Flags())
    assert r.settings.min_confidence == 0.5
    assert r.settings.model == str((tmp_path / "weights/m.safetensors").resolve())
    # editor settings win over pyproject; missing and null keys keep the project's
    r = resolve(tmp_path, {"minConfidence": 0.3, "select": None, "interpreter": "/usr/bin/python3"}, Flags())
    assert r.settings.min_confidence == 0.3 and r.settings.ignore == {"CG002"}
    # flags win over everything
    r = resolve(tmp_path, {"minConfidence": 0.3}, Flags(min_confidence=0.1, debounce_ms=0))
    assert r.settings.min_confidence == 0.1 and r.debounce == 0.0


def test_bad_editor_settings_are_reported_and_skipped(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "min-confidence = 0.5")
    r = resolve(tmp_path, {"minConfidence": 7, "debounce": "soon"}, Flags())
    assert r.settings.min_confidence == 0.5
    assert len(r.problems) == 2 and "minConfidence" in r.problems[0]


def test_bad_pyproject_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.codegraph\n", encoding="utf-8")
    r = resolve(tmp_path, {"enable": False}, Flags())
    assert r.problems and "invalid TOML" in r.problems[0]
    assert r.settings.enable is False


def test_editor_section_shapes() -> None:
    assert editor_section({"codegraph": {"enable": False}}) == {"enable": False}
    assert editor_section({"minConfidence": 0.2}) == {"minConfidence": 0.2}
    assert editor_section({"python": {"x": 1}}) == {}
    assert editor_section(None) == {}
