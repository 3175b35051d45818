"""Candidate bug locations and their repairs, one enumerator per rule (CG001-CG008).

The same enumeration serves inference and training. At inference a candidate is a
place where a small plausible mistake could be, its repairs are what the detector may
propose instead. For training, bug injection (``models/training/rewrites.py``) picks
one candidate of a correct program and one of its repairs and applies it; the fix of
the buggy program is then the inverse repair, which this module also enumerates on
the buggy program because every repair relation below is symmetric.

Graph node ids here are those of the file's :class:`CodeGraph` (``codegraph.context``
maps them to unit-local ids). Byte ranges are file byte offsets; a replacement is the
real text that, spliced into the source, re-parses with the intended meaning.

Locations per rule:

* CG001 every read of a variable (not ``self``/``cls``, not a builtin, not a name that
  is only bound by ``def``/``class``/``import``); repairs: the other variables in scope
  there, nearest first, at most :data:`MAX_VARIABLE_REPAIRS`.
* CG002 each positional argument of a call with >= 2 positional arguments and no
  splats; repairs: swap with each later positional argument. Calls of functions whose
  result does not depend on the order of their arguments (``max``, ``min``,
  ``math.gcd``, ... :data:`SYMMETRIC_CALLEES`) have none: swapping them is no bug.
* CG003 the operator token of a binary operator; repairs: the other operators of its
  group (arithmetic, bitwise; ``@`` pairs with ``*``).
* CG004 each operator token of a comparison; repairs within its group (order and
  equality, membership, identity).
* CG005 ``and`` / ``or``.
* CG006 the integer literals -2..2 (``-1`` is a unary minus over ``1``: the unary node
  is the location) and ``True`` / ``False``.
* CG007 conditions of ``if``/``elif``/``while``/ternaries/``assert``/comprehension
  ``if`` and operands of ``and``/``or``: add a ``not`` (parenthesised where needed) or
  remove one.
* CG008 the ``=`` of a plain single-target assignment and the operator of an
  augmented assignment.

Nested function definitions are left out of a function's candidates: each is a unit
of its own. Lambdas and comprehensions belong to the enclosing function.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scopes import Access, ScopeInfo, Symbol, SymbolFlag
from codegraph.units import Candidate, Repair

#: every rule code, in order
RULES: tuple[str, ...] = ("CG001", "CG002", "CG003", "CG004", "CG005", "CG006", "CG007", "CG008")

#: most alternative variables offered for one CG001 location
MAX_VARIABLE_REPAIRS = 24

#: callees, as written at the call, whose arguments may come in any order (CG002 skips them)
SYMMETRIC_CALLEES: frozenset[str] = frozenset(
    {"max", "min"}
    | {f"math.{f}" for f in ("gcd", "lcm", "hypot", "dist", "isclose")}
    | {"cmath.isclose"}
    | {f"operator.{f}" for f in ("add", "mul", "eq", "ne", "and_", "or_", "xor", "is_", "is_not")}
)

#: names never treated as a misused variable nor offered as a replacement
IMPLICIT_NAMES: frozenset[str] = frozenset({"self", "cls", "__class__"})


def _peers(groups: Iterable[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Symmetric "may be confused with" relation: every other member of every group an item is in."""
    out: dict[str, list[str]] = {}
    for group in groups:
        for a in group:
            bucket = out.setdefault(a, [])
            bucket.extend(b for b in group if b != a and b not in bucket)
    return {k: tuple(v) for k, v in out.items()}


#: CG003 binary operators that may be confused with each other
BINARY_PEERS = _peers([("+", "-", "*", "/", "//", "%", "**"), ("<<", ">>", "&", "|", "^"), ("*", "@")])
#: CG004 comparison operators, each confusable only within its group
COMPARISON_PEERS = _peers([("<", "<=", ">", ">=", "==", "!="), ("in", "not in"), ("is", "is not")])
#: CG005
BOOLEAN_PEERS = _peers([("and", "or")])
#: CG008: ``=`` pairs with the common augmented operators, augmented operators within their group
ASSIGN_PEERS = _peers(
    [
        ("=", "+="), ("=", "-="), ("=", "*="), ("=", "/="), ("=", "|="),
        ("+=", "-=", "*=", "/=", "//=", "%=", "**="),
        ("|=", "&=", "^=", "<<=", ">>="),
    ]
)  # fmt: skip
#: CG006 integer values
INT_VALUES: tuple[int, ...] = (-2, -1, 0, 1, 2)

#: every repair token the enumeration can produce, in a fixed order (vocabulary building)
REPAIR_TOKENS: tuple[str, ...] = (
    "var",
    "swap",
    *(f"op:{o}" for o in BINARY_PEERS),
    *(f"cmp:{o}" for o in COMPARISON_PEERS),
    *(f"bool:{o}" for o in BOOLEAN_PEERS),
    *(f"lit:{v}" for v in (*INT_VALUES, True, False)),
    "not:add",
    "not:remove",
    *(f"assign:{o}" for o in ASSIGN_PEERS),
)

#: expression types that need parentheses under a prefixed ``not`` to keep their meaning
_LOOSER_THAN_NOT = frozenset({"boolean_operator", "conditional_expression", "lambda", "named_expression"})
#: binding strength of the boolean operators
_BOOL_RANK = {"or": 1, "and": 2}
#: statement-like positions whose condition may be any expression without parentheses
_STATEMENT_CONDITION_PARENTS = frozenset({"if_statement", "elif_clause", "while_statement"})
#: syntax type -> the rule whose locations it holds (boolean operators and conditions handled apart)
_RULE_OF_TYPE: dict[str, str] = {
    "identifier": "CG001",
    "argument_list": "CG002",
    "binary_operator": "CG003",
    "comparison_operator": "CG004",
    "integer": "CG006",
    "unary_operator": "CG006",
    "true": "CG006",
    "false": "CG006",
    "assignment": "CG008",
    "augmented_assignment": "CG008",
}
#: symbol flags that make a name a plain variable (CG001)
_VARIABLE_FLAGS = SymbolFlag.ASSIGN | SymbolFlag.PARAM
#: ancestors at which the search for an enclosing annotation stops
_ANNOTATION_STOPS = frozenset({"block", "module", "lambda", "function_definition", "class_definition"})
#: assignment targets that an augmented assignment accepts
_AUGMENTABLE_TARGETS = frozenset({"identifier", "attribute", "subscript"})


# --------------------------------------------------------------------------- entry point


def find_candidates(
    g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo | None, rules: Iterable[str] | None = None
) -> list[Candidate]:
    """All candidate locations of ``func`` (file graph node ids), sorted by (node, rule).

    ``scopes`` is the scope analysis of ``g`` (needed for CG001; ``None`` leaves CG001 out).
    ``rules`` restricts the enumeration to some rule codes.
    """
    wanted = frozenset(RULES if rules is None else rules)
    out: list[Candidate] = []
    seen_conditions: set[int] = set()
    types = g.type
    variables = _Variables(g, func, scopes) if scopes is not None and "CG001" in wanted else None
    for n in function_nodes(g, func):
        t = types[n]
        rule = _RULE_OF_TYPE.get(t)
        if rule is not None and rule in wanted:
            if rule == "CG001":
                if variables is not None:
                    _add(out, variables.candidate(n))
            elif rule == "CG002":
                out.extend(_swap_candidates(g, n))
            elif rule == "CG003":
                _add(out, _operator_candidate(g, g.child_by_field(n, "operator"), rule, "op", BINARY_PEERS))
            elif rule == "CG004":
                for op in g.children_by_field(n, "operators"):
                    _add(out, _operator_candidate(g, op, rule, "cmp", COMPARISON_PEERS))
            elif rule == "CG006":
                _add(out, _literal_candidate(g, n))
            else:
                _add(out, _assignment_candidate(g, n))
        if t == "boolean_operator" and "CG005" in wanted:
            _add(out, _operator_candidate(g, g.child_by_field(n, "operator"), "CG005", "bool", BOOLEAN_PEERS))
        if "CG007" in wanted:
            for cond in _conditions_of(g, n):
                if cond not in seen_conditions:
                    seen_conditions.add(cond)
                    _add(out, _negation_candidate(g, cond))
    out.sort(key=lambda c: (c.node, RULES.index(c.rule)))
    return out


def _add(out: list[Candidate], cand: Candidate | None) -> None:
    if cand is not None and cand.repairs:
        out.append(cand)


def function_nodes(g: CodeGraph, func: FunctionInfo) -> Iterator[int]:
    """Graph nodes of ``func`` in preorder, skipping the subtrees of nested function definitions."""
    n, end = func.node, g.subtree_end[func.node]
    types, send = g.type, g.subtree_end
    while n < end:
        if n != func.node and types[n] == "function_definition":
            n = send[n]
            continue
        yield n
        n += 1


def apply_repair(source: bytes, repair: Repair) -> bytes:
    """``source`` with the repair's byte range replaced by its replacement text."""
    return source[: repair.start_byte] + repair.replacement.encode("utf-8") + source[repair.end_byte :]


# --------------------------------------------------------------------------- CG001


class _Variables:
    """CG001 helper for one function: the variables visible per scope, split once into those the
    function uses and the nearest others, so that each read costs O(variables used + cap)."""

    def __init__(self, g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo) -> None:
        self.g, self.scopes = g, scopes
        self.lo, self.hi = func.node, g.subtree_end[func.node]
        self._by_scope: dict[int, tuple[list[Symbol], list[tuple[int, Symbol]]]] = {}
        self._is_variable: dict[int, bool] = {}

    def is_variable(self, sym: Symbol) -> bool:
        hit = self._is_variable.get(sym.id)
        if hit is None:
            hit = self._is_variable[sym.id] = is_variable(sym)
        return hit

    def visible(self, n: int) -> tuple[list[Symbol], list[tuple[int, Symbol]]]:
        """(variables visible at ``n`` that occur in the function, the nearest others with their target)."""
        scope = self.scopes.scope_at(n)
        hit = self._by_scope.get(scope.id)
        if hit is not None:
            return hit
        lo, hi = self.lo, self.hi
        used: list[Symbol] = []
        others: list[tuple[int, int, Symbol]] = []
        for alt in self.scopes.visible_symbols(n).values():
            if not self.is_variable(alt):
                continue
            occ = alt.occurrences
            k = bisect_left(occ, lo)
            if k < len(occ) and occ[k] < hi:
                used.append(alt)
                continue
            target = alt.bindings[0] if alt.bindings else (occ[0] if occ else -1)
            if target >= 0:
                others.append((abs(lo - target), target, alt))
        others.sort(key=lambda r: (r[0], r[1]))
        hit = self._by_scope[scope.id] = (used, [(t, alt) for _, t, alt in others[:MAX_VARIABLE_REPAIRS]])
        return hit

    def candidate(self, n: int) -> Candidate | None:
        """A read of a variable, and the other variables in scope that could have been meant."""
        scopes, g = self.scopes, self.g
        sym = scopes.symbol_of(n)
        if sym is None or not self.is_variable(sym) or scopes.access_of(n) != Access.READ:
            return None
        if _in_annotation(g, n):
            return None
        used, others = self.visible(n)
        ranked: list[tuple[int, int, int, Symbol]] = []
        for alt in used:
            if alt is not sym:
                target, inside = variable_target(alt, n, self.lo, self.hi)
                if target >= 0:
                    ranked.append((0 if inside else 1, abs(n - target), target, alt))
        ranked.extend((1, abs(n - target), target, alt) for target, alt in others)
        if not ranked:
            return None
        ranked.sort(key=lambda r: (r[0], r[1], r[2]))
        s, e = g.start_byte[n], g.end_byte[n]
        return Candidate(
            n,
            "CG001",
            [Repair("CG001", "var", alt.name, s, e, t) for _, _, t, alt in ranked[:MAX_VARIABLE_REPAIRS]],
        )


def is_variable(sym: Symbol) -> bool:
    """A plain variable: assigned or a parameter, not only a def / class / import name, not builtin."""
    return (
        not sym.is_builtin
        and bool(sym.flags & _VARIABLE_FLAGS)
        and sym.name not in IMPLICIT_NAMES
        and sym.name.isidentifier()
    )


def variable_target(sym: Symbol, n: int, lo: int, hi: int) -> tuple[int, bool]:
    """The graph node a CG001 repair to ``sym`` at ``n`` points at, and whether it lies in ``[lo, hi)``.

    The nearest occurrence of ``sym`` before ``n`` inside the function ``[lo, hi)``;
    else its first binding (definition) anywhere; else its first occurrence; -1 if none.
    """
    occ = sym.occurrences
    k = bisect_left(occ, n) - 1
    if k >= 0 and occ[k] >= lo:
        return occ[k], True
    target = sym.bindings[0] if sym.bindings else (occ[0] if occ else -1)
    return target, lo <= target < hi


def _in_annotation(g: CodeGraph, n: int) -> bool:
    """Whether identifier ``n`` is part of a type annotation."""
    p = g.parent[n]
    types, parent = g.type, g.parent
    while p >= 0:
        t = types[p]
        if t == "type":
            return True
        if t in _ANNOTATION_STOPS or t.endswith("statement"):
            return False
        p = parent[p]
    return False


# --------------------------------------------------------------------------- CG002


def _swap_candidates(g: CodeGraph, arglist: int) -> list[Candidate]:
    """Positional arguments of a call (>= 2, no splats), each swappable with every later one."""
    call = g.parent[arglist]
    if call < 0 or g.type[call] != "call" or g.field_name[arglist] != "arguments":
        return []
    callee = g.child_by_field(call, "function")
    if callee is not None and g.node_source(callee) in SYMMETRIC_CALLEES:
        return []
    positional: list[int] = []
    for a in g.children[arglist]:
        t = g.type[a]
        if t in ("list_splat", "dictionary_splat", "parenthesized_list_splat"):
            return []
        if t != "keyword_argument":
            positional.append(a)
    if len(positional) < 2:
        return []
    sb, eb = g.start_byte, g.end_byte
    texts = [g.source[sb[a] : eb[a]] for a in positional]
    out: list[Candidate] = []
    for i, a in enumerate(positional):
        cand = Candidate(a, "CG002")
        for j in range(i + 1, len(positional)):
            if texts[i] == texts[j]:
                continue  # swapping equal texts changes nothing
            b = positional[j]
            swapped = texts[j] + g.source[eb[a] : sb[b]] + texts[i]
            cand.repairs.append(Repair("CG002", "swap", swapped.decode("utf-8", "replace"), sb[a], eb[b], b))
        if cand.repairs:
            out.append(cand)
    return out


# --------------------------------------------------------------------------- CG003 / CG004 / CG005


def _operator_candidate(
    g: CodeGraph, op: int | None, rule: str, prefix: str, peers: dict[str, tuple[str, ...]]
) -> Candidate | None:
    """An operator token and the other operators of its group."""
    if op is None:
        return None
    current = g.type[op]
    others = peers.get(current)
    if not others:
        return None
    s, e = g.start_byte[op], g.end_byte[op]
    return Candidate(op, rule, [Repair(rule, f"{prefix}:{o}", o, s, e) for o in others])


# --------------------------------------------------------------------------- CG006


def literal_value(g: CodeGraph, n: int) -> int | bool | None:
    """The value of a CG006 literal location: -2..2 or True/False; None if ``n`` is not one."""
    t = g.type[n]
    if t == "true":
        return True
    if t == "false":
        return False
    if t == "integer":
        value = _small_int(g.text[n])
        if value is None:
            return None
        p = g.parent[n]
        if p >= 0 and g.type[p] == "unary_operator" and _unary_op(g, p) == "-":
            return None  # the unary minus is the location
        return value
    if t == "unary_operator" and _unary_op(g, n) == "-":
        arg = g.child_by_field(n, "argument")
        if arg is not None and g.type[arg] == "integer":
            value = _small_int(g.text[arg])
            if value is not None and value > 0:
                return -value
    return None


def _small_int(text: str) -> int | None:
    return int(text) if text in ("0", "1", "2") else None


def _unary_op(g: CodeGraph, n: int) -> str | None:
    op = g.child_by_field(n, "operator")
    return g.type[op] if op is not None else None


def _literal_candidate(g: CodeGraph, n: int) -> Candidate | None:
    value = literal_value(g, n)
    if value is None:
        return None
    s, e = g.start_byte[n], g.end_byte[n]
    if isinstance(value, bool):
        other = "False" if value else "True"
        return Candidate(n, "CG006", [Repair("CG006", f"lit:{other}", other, s, e)])
    negative_ok = not _binds_tighter_than_unary(g, n)
    repairs = [
        Repair("CG006", f"lit:{v}", str(v), s, e)
        for v in INT_VALUES
        if v != value and (v >= 0 or negative_ok)
    ]
    return Candidate(n, "CG006", repairs)


def _binds_tighter_than_unary(g: CodeGraph, n: int) -> bool:
    """True where a ``-x`` put at ``n`` would not parse as one operand (``-1 ** 2``, ``-1 .real``)."""
    p = g.parent[n]
    if p < 0:
        return False
    pt, f = g.type[p], g.field_name[n]
    if pt == "binary_operator" and f == "left":
        op = g.child_by_field(p, "operator")
        return op is not None and g.type[op] == "**"
    return (
        (pt == "attribute" and f == "object")
        or (pt == "subscript" and f == "value")
        or (pt == "call" and f == "function")
    )


# --------------------------------------------------------------------------- CG007


def _conditions_of(g: CodeGraph, n: int) -> list[int]:
    """The condition expressions that syntax node ``n`` holds (CG007 locations)."""
    t = g.type[n]
    if t in ("if_statement", "elif_clause", "while_statement"):
        c = g.child_by_field(n, "condition")
        return [c] if c is not None else []
    if t == "conditional_expression":
        kids = g.children[n]
        return [kids[1]] if len(kids) >= 3 else []
    if t == "assert_statement":
        kids = g.children[n]
        return [kids[0]] if kids else []
    if t == "if_clause":
        kids = g.children[n]
        return [kids[0]] if kids else []
    if t == "boolean_operator":
        return [c for c in (g.child_by_field(n, "left"), g.child_by_field(n, "right")) if c is not None]
    return []


def _negation_candidate(g: CodeGraph, cond: int) -> Candidate | None:
    """Add a ``not`` in front of a condition, or remove the one it has."""
    s, e = g.start_byte[cond], g.end_byte[cond]
    t = g.type[cond]
    if t in ("ERROR", "keyword_argument", "list_splat", "expression_list"):
        return None
    if t == "not_operator":
        arg = g.child_by_field(cond, "argument")
        if arg is None:
            return None
        replacement = g.node_source(arg)
        if g.type[arg] == "parenthesized_expression" and _strip_parens_ok(g, cond, arg):
            inner = g.children[arg]
            if len(inner) == 1:
                replacement = g.node_source(inner[0])
        return Candidate(cond, "CG007", [Repair("CG007", "not:remove", replacement, s, e)])
    text = g.node_source(cond)
    replacement = f"not ({text})" if t in _LOOSER_THAN_NOT else f"not {text}"
    return Candidate(cond, "CG007", [Repair("CG007", "not:add", replacement, s, e)])


def _strip_parens_ok(g: CodeGraph, not_node: int, paren: int) -> bool:
    """Whether ``not (X)`` may lose its parentheses when the ``not`` goes.

    Exactly where ``X`` would parse as the same expression without them, so that
    removing a ``not`` is the inverse of adding one (which parenthesises ``X`` when it
    binds more loosely than ``not``): a boolean operator, conditional expression,
    walrus or lambda as the condition of ``if`` / ``elif`` / ``while``; a boolean
    operator or conditional expression asserted; a boolean operator as the condition
    of a ternary or comprehension ``if``, or as the operand of a boolean operator it
    binds at least as tightly as (strictly, on the right: ``and`` / ``or`` associate left).
    """
    inner = g.children[paren]
    if len(inner) != 1:
        return False
    it = g.type[inner[0]]
    p = g.parent[not_node]
    if p < 0:
        return False
    pt, f = g.type[p], g.field_name[not_node]
    if pt in _STATEMENT_CONDITION_PARENTS and f == "condition":
        return it in _LOOSER_THAN_NOT
    if pt == "assert_statement":
        return it in ("boolean_operator", "conditional_expression") and g.children[p][0] == not_node
    if it != "boolean_operator":
        return False
    if pt in ("conditional_expression", "if_clause"):
        return True
    if pt == "boolean_operator" and f in ("left", "right"):
        inner_rank = _BOOL_RANK.get(_operator_type(g, inner[0]), 0)
        outer_rank = _BOOL_RANK.get(_operator_type(g, p), 0)
        return inner_rank > outer_rank or (inner_rank == outer_rank and f == "left")
    return False


def _operator_type(g: CodeGraph, n: int) -> str:
    op = g.child_by_field(n, "operator")
    return g.type[op] if op is not None else ""


# --------------------------------------------------------------------------- CG008


def _assignment_candidate(g: CodeGraph, n: int) -> Candidate | None:
    """``x = e`` <-> ``x op= e`` for a single name, attribute or subscript target."""
    left = g.child_by_field(n, "left")
    right = g.child_by_field(n, "right")
    if left is None or right is None or g.type[left] not in _AUGMENTABLE_TARGETS:
        return None
    if g.type[n] == "assignment":
        if g.child_by_field(n, "type") is not None or g.type[right] in ("assignment", "augmented_assignment"):
            return None
        if g.type[g.parent[n]] != "expression_statement":
            return None
        op = next((c for c in g.children[n] if g.type[c] == "="), None)
    else:
        op = g.child_by_field(n, "operator")
    if op is None:
        return None
    others = ASSIGN_PEERS.get(g.type[op])
    if not others:
        return None
    s, e = g.start_byte[op], g.end_byte[op]
    return Candidate(op, "CG008", [Repair("CG008", f"assign:{o}", o, s, e) for o in others])
