"""Small files in the product (models/training/, the research bench, aside) and small functions
everywhere in the package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def package_files() -> list[Path]:
    return sorted(p for d in ("codegraph", "models", "lsp") for p in (ROOT / d).rglob("*.py"))


def product_files() -> list[Path]:
    return [p for p in package_files() if "training" not in p.relative_to(ROOT).parts]


def test_no_product_file_is_over_600_lines() -> None:
    files = product_files()
    assert len(files) > 40
    long = {
        str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for p in package_files():
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{p.relative_to(ROOT)}:{node.name}"] = n
    assert long == {}
