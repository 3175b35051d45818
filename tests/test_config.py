"""Configuration files: which one is read, where its keys go, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegraph.config import ConfigError, Settings, find_config, load_settings, settings_from_table


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_file_with_top_level_keys_is_read(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "ci" / "strict.toml", 'min-confidence = 0.5\nignore = ["CG006"]\n')
    s = load_settings(tmp_path, cfg)
    assert s.min_confidence == 0.5 and "CG006" not in s.enabled_rules() and s.source == str(cfg)


def test_unknown_keys_are_all_named_with_a_suggestion(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "codegraph.toml", 'min-confidense = 0.5\nselect = ["CG001"]\nexlude = []\nzzz = 1\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, cfg)
    assert str(err.value) == (
        f"{cfg}: unknown keys 'exlude' (did you mean 'exclude'?), 'min-confidense' "
        "(did you mean 'min-confidence'?), 'zzz' in codegraph.toml"
    )


def test_keys_in_the_wrong_place_are_errors(tmp_path: Path) -> None:
    pyproject = _write(tmp_path / "a" / "pyproject.toml", 'min-confidence = 0.5\n[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"'min-confidence' must be under \[tool.codegraph\]"):
        load_settings(tmp_path, pyproject)
    bare = _write(tmp_path / "b" / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.codegraph\] table"):
        load_settings(tmp_path, bare)
    both = _write(tmp_path / "c" / "codegraph.toml", "jobs = 1\n[tool.codegraph]\nmin-confidence = 0.5\n")
    with pytest.raises(ConfigError, match=r"either top-level keys or under \[tool.codegraph\], not both"):
        load_settings(tmp_path, both)
    table_only = _write(tmp_path / "e" / "ci.toml", "[tool.codegraph]\nmin-confidence = 0.5\n")
    assert load_settings(tmp_path, table_only).min_confidence == 0.5
    other_tool = _write(tmp_path / "f" / "ci.toml", "[tool.ruff]\nline-length = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'tool' in ci.toml"):
        load_settings(tmp_path, other_tool)
    nested = _write(tmp_path / "d" / "pyproject.toml", "[tool.codegraph]\nmin-confidence = 0.5\nselct = []\n")
    with pytest.raises(
        ConfigError, match=r"unknown key 'selct' \(did you mean 'select'\?\) in \[tool.codegraph\]"
    ):
        load_settings(tmp_path, nested)


def test_which_file_is_found(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.codegraph]\nmin-confidence = 0.1\n")
    sub = tmp_path / "sub"
    _write(sub / "pyproject.toml", '[project]\nname = "no-table"\n')  # passed over
    assert find_config(sub) == tmp_path / "pyproject.toml"
    _write(sub / "codegraph.toml", "min-confidence = 0.2\n")
    assert find_config(sub / "mod.py") == sub / "codegraph.toml"
    _write(sub / ".codegraph.toml", "min-confidence = 0.3\n")
    assert find_config(sub) == sub / ".codegraph.toml"
    assert load_settings(sub).min_confidence == 0.3
    assert load_settings(tmp_path).min_confidence == 0.1


def test_rule_codes_get_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"'CG01O' in `select` \(did you mean 'CG001', variable-misuse\?\)"):
        settings_from_table({"select": ["CG01O"]}, "x")
    with pytest.raises(
        ConfigError, match=r"'VARIBLE-MISUSE' in `ignore` \(did you mean 'CG001', variable-misuse\?\)"
    ):
        settings_from_table({"ignore": ["varible-misuse"]}, "x")


def test_extend_exclude_adds_to_exclude() -> None:
    s = settings_from_table({"exclude": ["a/**"], "extend-exclude": ["b/**"]}, "x")
    assert s.exclude == ("a/**",) and s.extend_exclude == ("b/**",)
    assert Settings().extend_exclude == ()


def test_scan_exits_2_on_a_bad_config_file(tmp_path: Path, monkeypatch, capsys) -> None:
    from codegraph import scan

    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "m.py", "x = 1\n")
    _write(tmp_path / "cg.toml", "min-confidence = 0.5\njbos = 2\n")
    assert scan.main(["--no-progress", "--config", "cg.toml", "m.py"]) == 2
    assert "unknown key 'jbos' (did you mean 'jobs'?) in cg.toml" in capsys.readouterr().err
