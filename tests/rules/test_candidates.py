"""Candidate bug locations and repairs: what each rule enumerates, and that every repair is invertible."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codegraph.context import ContextBuilder
from codegraph.graph import build_file_graph
from codegraph.nodes import graph_nodes
from codegraph.rules import (
    REPAIR_TOKENS,
    RULE_CODES,
    RULES_BY_CODE,
    analysis_functions,
    apply_repair,
    find_candidates,
    function_nodes,
)
from codegraph.rules.cg001_variable_misuse import MAX_VARIABLE_REPAIRS
from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scope_analysis import analyze_scopes
from codegraph.syntax import parse
from codegraph.units import Candidate, Repair

STDLIB = Path(textwrap.__file__).parent


def graph_of(src: str) -> CodeGraph:
    return build_file_graph(textwrap.dedent(src).encode(), "snippet.py", "snippet")


def function(g: CodeGraph, name: str) -> FunctionInfo:
    return next(f for f in g.functions if f.qualname.split(".")[-1] == name)


def candidates(
    src: str, name: str = "f", rules: list[str] | None = None
) -> tuple[CodeGraph, list[Candidate]]:
    g = graph_of(src)
    return g, find_candidates(g, function(g, name), analyze_scopes(g), rules)


def at(g: CodeGraph, cands: list[Candidate], text: str, rule: str, index: int = 0) -> Candidate:
    """The ``index``-th candidate of ``rule`` whose location's source text is ``text``."""
    found = [c for c in cands if c.rule == rule and g.node_source(c.node) == text]
    assert len(found) > index, f"no {rule} candidate at {text!r}: {[g.node_source(c.node) for c in cands]}"
    return found[index]


def replacements(c: Candidate) -> list[str]:
    return [r.replacement for r in c.repairs]


def rewritten(g: CodeGraph, r: Repair) -> str:
    return apply_repair(g.source, r).decode()


# --------------------------------------------------------------------------- CG001


def test_variable_misuse_offers_the_other_variables_in_scope() -> None:
    g, cands = candidates(
        """
        LIMIT = 10
        def helper(): pass
        import os
        def f(a, b):
            c = a + 1
            return c * b + LIMIT + len(a)
        """,
        rules=["CG001"],
    )
    c = at(g, cands, "b", "CG001", 0)
    assert set(replacements(c)) == {"a", "c", "LIMIT"}  # no def, import or builtin names
    assert all(r.token == "var" and r.rule == "CG001" for r in c.repairs)
    # the target is an occurrence of the replacement variable: the nearest one before the location
    targets = {r.replacement: r.target for r in c.repairs}
    assert g.node_source(targets["c"]) == "c" and g.start_point[targets["c"]][0] == 6
    assert g.node_source(targets["LIMIT"]) == "LIMIT" and g.start_point[targets["LIMIT"]][0] == 1
    texts = [g.node_source(c.node) for c in cands]
    assert "os" not in texts and "helper" not in texts  # bound here, but never read
    assert "len" not in texts  # a builtin with nothing it is commonly confused with
    # writes are no locations, reads are
    assert texts.count("c") == 1 and texts.count("a") == 2


def test_module_level_names_builtins_and_undefined_names_are_locations() -> None:
    g, cands = candidates(
        """
        import json
        from os import path, sep
        class AppError(ValueError): pass
        class Other: pass
        def f(data, count):
            if not isinstance(data, Other):
                raise AppError("x")
            try:
                return json.dumps(dta) + path.join(sep)
            except KeyError:
                return max(count, 0)
        """,
        rules=["CG001"],
    )
    # a class: the other classes first, then the other module-level names
    other = at(g, cands, "Other", "CG001")
    assert replacements(other)[0] == "AppError" and {"json", "path", "sep", "f"} <= set(replacements(other))
    assert {r.token for r in other.repairs} == {"name"}
    assert all(g.node_source(r.target) == r.replacement for r in other.repairs)
    # an exception class defined here: the common builtin exceptions too
    assert {"ValueError", "TypeError", "KeyError"} <= set(replacements(at(g, cands, "AppError", "CG001")))
    # builtins: their usual confusions, exceptions also the exception classes in scope
    assert replacements(at(g, cands, "max", "CG001")) == ["min"]
    assert replacements(at(g, cands, "isinstance", "CG001"))[0] == "issubclass"
    key_error = at(g, cands, "KeyError", "CG001")
    assert replacements(key_error)[:2] == ["AppError", "Other"] and "LookupError" in replacements(key_error)
    assert {r.token for r in key_error.repairs} == {"builtin"}
    # an undefined name: the names in reach spelled most like it first
    typo = at(g, cands, "dta", "CG001")
    assert replacements(typo)[0] == "data" and typo.repairs[0].token == "typo"
    assert g.node_source(typo.repairs[0].target) == "data"


def test_module_level_code_is_a_unit_of_its_own() -> None:
    src = """
        import logging
        LEVEL = 3
        def helper(x):
            return x + LEVEL
        class Config:
            size = LEVEL * 2
        if LEVEL > 2:
            logging.info(helper(LEVEL))
        """
    g = graph_of(src)
    module = analysis_functions(g)[-1]
    assert module.qualname == "snippet" and module.node == 0
    cands = find_candidates(g, module, analyze_scopes(g))
    lines = {g.start_point[c.node][0] for c in cands}
    assert lines == {2, 6, 7, 8}  # the assignments, the class body, the `if`; not helper's body
    assert ("CG004", ">") in {(c.rule, g.node_source(c.node)) for c in cands}
    unit = ContextBuilder(g, analyze_scopes(g)).build(module)
    assert unit.function == "snippet" and "return_statement" not in unit.node_type[: unit.num_function_nodes]
    assert len(unit.candidates) == len(cands)


def test_variable_misuse_respects_scoping() -> None:
    src = """
        class K:
            attr = 1
            def m(self, x):
                ys = [z * x for z in range(x)]
                return ys, self.attr
        def g(p):
            total = sum(q for q in p)
            return total, p
        """
    g, cands = candidates(src, "m", ["CG001"])
    offered = {r.replacement for c in cands for r in c.repairs}
    assert "attr" not in offered  # class-body names are not visible in methods
    assert "self" not in offered and "self" not in {g.node_source(c.node) for c in cands}
    assert "z" not in replacements(at(g, cands, "ys", "CG001"))  # comprehension variables do not leak
    assert "z" in replacements(at(g, cands, "x", "CG001", 0))  # ... but are visible inside it
    g, cands = candidates(src, "g", ["CG001"])
    assert set(replacements(at(g, cands, "total", "CG001"))) == {"p"}
    # attribute names are no variables
    assert all(g.node_source(c.node) != "attr" for c in cands)


def test_variable_misuse_skips_annotations_and_caps_alternatives() -> None:
    names = [f"v{i}" for i in range(40)]
    body = "\n".join(f"    {n} = {i}" for i, n in enumerate(names))
    g, cands = candidates(f"T = int\ndef f(a: T) -> T:\n{body}\n    return v0\n", rules=["CG001"])
    assert [g.node_source(c.node) for c in cands] == ["v0"]
    assert len(cands[0].repairs) == MAX_VARIABLE_REPAIRS
    assert replacements(cands[0])[0] == "v39"  # the nearest first


def test_nested_functions_have_their_own_candidates() -> None:
    g, cands = candidates(
        """
        def f(a):
            def inner(b):
                return b + 1
            return inner(a) - 2
        """
    )
    inner = function(g, "inner")
    inner_nodes = set(range(inner.node, g.subtree_end[inner.node]))
    assert cands and not any(c.node in inner_nodes for c in cands)
    assert set(function_nodes(g, function(g, "f"))).isdisjoint(inner_nodes)
    g, inner_cands = candidates(
        """
        def f(a):
            def inner(b):
                return b + 1
            return inner(a) - 2
        """,
        "inner",
    )
    assert {c.rule for c in inner_cands} == {"CG001", "CG003", "CG006"}
    assert replacements(at(g, inner_cands, "b", "CG001")) == ["a"]  # the enclosing function's variable


# --------------------------------------------------------------------------- CG002 - CG008


def test_swapped_arguments() -> None:
    g, cands = candidates(
        """
        def f(a, b, c):
            g(a, b, key=c)
            g(a, *b)
            g(a, a)
            g(x for x in a)
            return h(a, (b + 1), c)
        """,
        rules=["CG002"],
    )
    assert [g.node_source(c.node) for c in cands] == ["a", "a", "(b + 1)"]
    first = cands[0]
    assert replacements(first) == ["b, a"] and first.repairs[0].token == "swap"
    assert g.node_source(first.repairs[0].target) == "b"
    assert replacements(cands[1]) == ["(b + 1), a", "c, (b + 1), a"]
    assert "h(c, (b + 1), a)" in rewritten(g, cands[1].repairs[1])


def test_no_swaps_in_calls_of_order_free_functions() -> None:
    g, cands = candidates(
        """
        import math

        def f(a, b):
            return max(a, b), min(b, a, key=abs), math.gcd(a, b), pow(a, b), math.pow(a, b), lib.max(a, b)
        """,
        rules=["CG002"],
    )
    calls = [g.node_source(g.parent[g.parent[c.node]]) for c in cands]
    assert calls == ["pow(a, b)", "math.pow(a, b)", "lib.max(a, b)"]


def test_operators_stay_in_their_group() -> None:
    g, cands = candidates(
        """
        def f(a, b):
            return (a + b, a << b, a @ b, a < b, a in b, a is not b, a and b)
        """,
        rules=["CG003", "CG004", "CG005"],
    )
    plus, shift, matmul = (at(g, cands, op, "CG003") for op in ("+", "<<", "@"))
    assert replacements(plus) == ["-", "*", "/", "//", "%", "**"]
    assert set(replacements(shift)) == {">>", "&", "|", "^"}
    assert replacements(matmul) == ["*"]
    assert set(replacements(at(g, cands, "<", "CG004"))) == {"<=", ">", ">=", "==", "!="}
    # membership, identity and equality: within the group, and across for ==, is, in
    assert replacements(at(g, cands, "in", "CG004")) == ["not in", "==", "is"]
    assert replacements(at(g, cands, "is not", "CG004")) == ["is", "!=", "not in"]
    assert [r.token for r in at(g, cands, "and", "CG005").repairs] == ["bool:or"]
    assert [r.token for r in plus.repairs][:2] == ["op:-", "op:*"]


def test_literals_with_unary_minus_and_booleans() -> None:
    g, cands = candidates(
        """
        def f(a):
            return a - 1, -2, 2 ** a, 1 .real, True, 7, -x
        """,
        rules=["CG006"],
    )
    assert [g.node_source(c.node) for c in cands] == ["1", "-2", "2", "1", "True", "7"]
    assert replacements(cands[0]) == ["-2", "-1", "0", "2", "None"]
    assert replacements(cands[1]) == ["-3", "-1", "0", "1", "2"]
    assert cands[1].repairs[0].token == "lit:dec"
    assert replacements(cands[2]) == ["0", "1", "3"]  # `-1 ** a` would parse as -(1 ** a)
    assert replacements(cands[4]) == ["False", "None"] and cands[4].repairs[0].token == "lit:False"
    assert replacements(cands[5]) == ["6", "8"] and [r.token for r in cands[5].repairs] == [
        "lit:dec",
        "lit:inc",
    ]


def test_none_and_the_empty_string() -> None:
    g, cands = candidates(
        """
        def f(a=None, b=""):
            return a or b or "x" or 0x10 or 010_0
        """,
        rules=["CG006"],
    )
    assert [g.node_source(c.node) for c in cands] == ["None", '""']
    assert replacements(cands[0]) == ["True", "False", "0", "1", '""']
    assert [r.token for r in cands[1].repairs] == ["lit:None"]


def test_negation_added_or_removed_with_the_right_parentheses() -> None:
    g, cands = candidates(
        """
        def f(a, b, c):
            if a and b:
                pass
            elif not (a < b):
                pass
            while not (a or b):
                pass
            assert c, "msg"
            return [x for x in a if x], (a if b else c), a or not c
        """,
        rules=["CG007"],
    )
    by_text = {g.node_source(c.node): c for c in cands}
    assert replacements(by_text["a and b"]) == ["not (a and b)"]
    assert by_text["a and b"].repairs[0].token == "not:add"
    assert replacements(by_text["not (a < b)"]) == ["(a < b)"]
    assert by_text["not (a < b)"].repairs[0].token == "not:remove"
    assert replacements(by_text["not (a or b)"]) == ["a or b"]  # add puts them back
    assert replacements(by_text["not c"]) == ["c"]
    assert {"c", "x", "b", "a"} <= set(by_text)  # assert, comprehension if, ternary, operands


def test_assignment_operators() -> None:
    g, cands = candidates(
        """
        def f(a, b):
            a = b
            a.x = 1
            a[0] += b
            a |= b
            a = b = 2
            a, b = b, a
            n: int = 3
            for i in a: pass
        """,
        rules=["CG008"],
    )
    assert [g.node_source(c.node) for c in cands] == ["=", "=", "+=", "|="]
    assert [r.token for r in cands[0].repairs] == [f"assign:{op}" for op in ("+=", "-=", "*=", "/=", "|=")]
    assert "=" in replacements(cands[2]) and "-=" in replacements(cands[2])
    assert rewritten(g, cands[0].repairs[0]).splitlines()[2].strip() == "a += b"


def test_every_token_is_in_the_vocabulary_and_rules_are_ordered() -> None:
    _, cands = candidates(
        """
        def f(a, b):
            x = a + b if a < b and True else g(a, b)
            if not x:
                x -= 1
            return x
        """
    )
    assert {c.rule for c in cands} == set(RULE_CODES)
    assert {r.token for c in cands for r in c.repairs} <= set(REPAIR_TOKENS)
    keys = [(c.node, RULE_CODES.index(c.rule)) for c in cands]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------- invertibility


def _inverse_exists(g: CodeGraph, func: FunctionInfo, cand: Candidate, repair: Repair) -> bool:
    """Apply ``repair``; the buggy program must parse and offer the repair restoring the original."""
    buggy = apply_repair(g.source, repair)
    tree = parse(buggy)
    if tree.root_node.has_error:
        return False
    g2 = graph_nodes(tree, buggy, g.path, g.module)  # candidates need graph nodes and scopes only
    start = g.start_byte[func.node]
    func2 = next(f for f in g2.functions if g2.start_byte[f.node] == start)
    end = repair.start_byte + len(repair.replacement.encode())
    original = g.source[repair.start_byte : repair.end_byte].decode()
    for c in find_candidates(g2, func2, analyze_scopes(g2), [cand.rule]):
        for r in c.repairs:
            if (r.start_byte, r.end_byte, r.replacement) == (repair.start_byte, end, original):
                return apply_repair(buggy, r) == g.source
    return False


def test_every_repair_of_a_snippet_is_invertible() -> None:
    g = graph_of(
        """
        LIMIT = 3
        def f(items, key, n=2):
            total = 0
            for i, item in enumerate(items):
                if item.size > n and not item.hidden or key(item) == -1:
                    total += item.size * 2
                elif (i % 2 == 0) is not False:
                    total = total - 1
            assert total >= 0 and n, "negative"
            return g(total, key, n) if total < LIMIT else [x for x in items if x]
        """
    )
    func = function(g, "f")
    cands = find_candidates(g, func, analyze_scopes(g))
    assert {c.rule for c in cands} == set(RULE_CODES)
    failures = [
        (c.rule, g.node_source(c.node), r.replacement)
        for c in cands
        for r in c.repairs
        if r.token not in RULES_BY_CODE[c.rule].fix_only_tokens and not _inverse_exists(g, func, c, r)
    ]
    assert failures == []


@pytest.mark.parametrize("module", ["textwrap.py", "shlex.py"])
def test_repairs_on_stdlib_parse_and_invert(module: str) -> None:
    """Property-style: an evenly spread sample of 150 repairs of a real file parse and can be undone."""
    source = (STDLIB / module).read_bytes()
    g = build_file_graph(source, module, module[:-3])
    scopes = analyze_scopes(g)
    every = [(f, c, r) for f in g.functions for c in find_candidates(g, f, scopes) for r in c.repairs]
    assert len(every) > 1000
    sample = every[:: len(every) // 150]
    assert len({c.rule for _, c, _ in sample}) >= 6
    failed = [
        (c.rule, r.token, g.node_source(c.node), r.replacement)
        for func, c, r in sample
        if r.token not in RULES_BY_CODE[c.rule].fix_only_tokens and not _inverse_exists(g, func, c, r)
    ]
    assert len(failed) <= len(sample) // 50, failed
