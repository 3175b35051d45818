"""Hand-built AnalysisUnits for the model tests (no parser, no dataset builder needed).

``toy_unit`` is a small function with the edge families a real unit has:

    def f(a, b):          # graph nodes 0..
        c = a + b         # or `c = b + a` with swapped=True
        return c < a

followed by one context function ``def g(x): return x``. ``far_task_unit`` is the
synthetic task whose bug location and fix are decided by tokens far from the
candidates. ``write_dataset`` writes a dataset directory (vocab.json + shards).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

from codegraph.models.tensorize import Vocabulary, tensorize
from codegraph.schema import EdgeKind, NodeKind
from codegraph.units import AnalysisUnit, Candidate, Repair


@dataclass
class S:
    """A syntax-tree spec node: inner node (children) or token (text); ``write`` marks a binding."""

    type: str
    text: str = ""
    children: list[S] = field(default_factory=list)
    write: bool = False


def ident(name: str, write: bool = False) -> S:
    return S("identifier", name, write=write)


class _Builder:
    def __init__(self) -> None:
        self.types: list[str] = []
        self.texts: list[str] = []
        self.kinds: list[int] = []
        self.edges: list[tuple[int, int, int]] = []

    def add_tree(self, root: S) -> list[int]:
        """Add a tree in preorder with CHILD / NEXT_SIBLING / NEXT_TOKEN / OCCURRENCE / LAST_WRITE edges."""
        leaves: list[int] = []
        occurrences: dict[str, list[tuple[int, bool]]] = {}

        def visit(spec: S) -> int:
            me = len(self.types)
            self.types.append(spec.type)
            self.texts.append(spec.text if not spec.children else "")
            self.kinds.append(int(NodeKind.SYNTAX if spec.children else NodeKind.TOKEN))
            if not spec.children:
                leaves.append(me)
                if spec.type == "identifier":
                    occurrences.setdefault(spec.text, []).append((me, spec.write))
            prev = -1
            for child in spec.children:
                c = visit(child)
                self.edges.append((me, c, int(EdgeKind.CHILD)))
                if prev >= 0:
                    self.edges.append((prev, c, int(EdgeKind.NEXT_SIBLING)))
                prev = c
            return me

        start = len(self.types)
        visit(root)
        for a, b in itertools.pairwise(leaves):
            self.edges.append((a, b, int(EdgeKind.NEXT_TOKEN)))
        for occ in occurrences.values():
            last_write = -1
            for (a, _), (b, _) in itertools.pairwise(occ):
                self.edges.append((a, b, int(EdgeKind.OCCURRENCE)))
            for node, write in occ:
                if last_write >= 0 and not write:
                    self.edges.append((node, last_write, int(EdgeKind.LAST_WRITE)))
                if write:
                    last_write = node
        return list(range(start, len(self.types)))

    def unit(
        self, num_function_nodes: int, candidates: list[Candidate], bug: int, fix: int, **meta: object
    ) -> AnalysisUnit:
        n = len(self.types)
        return AnalysisUnit(
            path="toy.py",
            function="toy.f",
            node_type=list(self.types),
            node_text=list(self.texts),
            node_kind=list(self.kinds),
            src=[s for s, _, _ in self.edges],
            dst=[d for _, d, _ in self.edges],
            edge_kind=[k for _, _, k in self.edges],
            origin=[(0, i) for i in range(n)],
            paths=["toy.py"],
            num_function_nodes=num_function_nodes,
            candidates=candidates,
            bug=bug,
            fix=fix,
            meta=dict(meta),
        )


def _repair(rule: str, token: str, target: int = -1) -> Repair:
    return Repair(rule, token, token.split(":")[-1], 0, 1, target)


def toy_unit(
    bug: int = -1, fix: int = -1, swapped: bool = False, hops: int = 3, lines: int = 1
) -> AnalysisUnit:
    """``def f(a, b): c = a + b; return c < a`` plus context ``def g(x): return x``.

    Candidates: 0 = the `a`/`b` read left of `+` (CG001), 1 = the `+` (CG003),
    2 = the last read of `a` (CG001), 3 = the `<` (CG004).
    """
    left, right = ("b", "a") if swapped else ("a", "b")
    f = S(
        "function_definition",
        children=[
            ident("f"),
            S("parameters", children=[ident("a", True), ident("b", True)]),
            S(
                "block",
                children=[
                    S(
                        "assignment",
                        children=[
                            ident("c", True),
                            S("binary_operator", children=[ident(left), S("+", "+"), ident(right)]),
                        ],
                    ),
                    S(
                        "return_statement",
                        children=[S("comparison_operator", children=[ident("c"), S("<", "<"), ident("a")])],
                    ),
                ],
            ),
        ],
    )
    g = S(
        "function_definition",
        children=[
            ident("g"),
            S("parameters", children=[ident("x", True)]),
            S("block", children=[S("return_statement", children=[ident("x")])]),
        ],
    )
    b = _Builder()
    fn_nodes = b.add_tree(f)
    b.add_tree(g)
    ids = [i for i in fn_nodes if b.types[i] == "identifier"]
    # identifiers in order: f, a, b, c, left, right, c, a
    param_a, param_b, c_def, left_read, last_a = ids[1], ids[2], ids[3], ids[4], ids[7]
    plus = b.types.index("+")
    less = b.types.index("<")
    other = param_b if left == "a" else param_a
    candidates = [
        Candidate(left_read, "CG001", [_repair("CG001", "var", other), _repair("CG001", "var", c_def)]),
        Candidate(plus, "CG003", [_repair("CG003", "op:-"), _repair("CG003", "op:*")]),
        Candidate(last_a, "CG001", [_repair("CG001", "var", param_b), _repair("CG001", "var", c_def)]),
        Candidate(less, "CG004", [_repair("CG004", "cmp:<="), _repair("CG004", "cmp:>")]),
    ]
    return b.unit(len(fn_nodes), candidates, bug, fix, hops=hops, lines=lines)


def far_task_unit(rng: random.Random, length: int = 10) -> AnalysisUnit:
    """A statement chain whose first two tokens decide the bug, ``length`` statements away from it.

    The key string names the misused variable (``"x"``, ``"y"`` or ``"none"``: no bug);
    the candidates are the reads of ``x`` and ``y`` at the far end; the op string
    (``"plus"`` / ``"minus"``) picks the fix among the two repairs of each candidate.
    """
    key = rng.choice(["x", "y", "none"])
    op = rng.choice(["plus", "minus"])
    names = ["tmp", "val", "item"]
    filler = [S("expression_statement", children=[ident(rng.choice(names))]) for _ in range(length)]
    ends = [S("expression_statement", children=[ident(v)]) for v in rng.sample(["x", "y"], 2)]
    body = [
        S("expression_statement", children=[S("string", key)]),
        S("expression_statement", children=[S("string", op)]),
        *filler,
        *ends,
    ]
    root = S("function_definition", children=[ident("f"), S("block", children=body)])
    b = _Builder()
    nodes = b.add_tree(root)
    reads = [i for i in nodes if b.texts[i] in ("x", "y") and b.types[i] == "identifier"]
    candidates = [Candidate(r, "CG001", [_repair("CG001", "op:+"), _repair("CG001", "op:-")]) for r in reads]
    bug = next((ci for ci, r in enumerate(reads) if b.texts[r] == key), -1)
    fix = (0 if op == "plus" else 1) if bug >= 0 else -1
    return b.unit(len(nodes), candidates, bug, fix, hops=length, lines=length)


def toy_vocab(units: list[AnalysisUnit] | None = None) -> Vocabulary:
    rng = random.Random(0)
    base = [toy_unit(), toy_unit(swapped=True)] + [far_task_unit(rng) for _ in range(6)]
    return Vocabulary.build(base + (units or []))


def write_dataset(
    root: Path, units_per_split: int = 24, seed: int = 0, vocab: Vocabulary | None = None, shards: int = 2
) -> Vocabulary:
    """A dataset directory as the dataset builder writes it: vocab.json + {train,valid,test}/*.pt
    (the vocabulary of its own training units unless ``vocab`` is given)."""
    from codegraph.models.tensors import save_shard  # torch: only the training tests write shards

    rng = random.Random(seed)
    labels = [(-1, -1), (0, 0), (1, 1), (2, 0), (3, 1)]
    splits = {
        name: [far_task_unit(rng) if i % 2 else toy_unit(*rng.choice(labels)) for i in range(units_per_split)]
        for name in ("train", "valid", "test")
    }
    vocab = vocab or toy_vocab(splits["train"])
    vocab.save(root / "vocab.json")
    for name, units in splits.items():
        data = [tensorize(u, vocab) for u in units]
        step = -(-len(data) // shards)
        for k in range(shards):
            save_shard(data[k * step : (k + 1) * step], root / name / f"shard-{k:05d}.pt")
    return vocab


def ddp_worker(rank: int, world: int, port: int, config: dict, out: str) -> None:  # type: ignore[type-arg]
    """One process of a DDP training run (spawned by the test): trains, then saves its replica's weights."""
    import os

    import torch

    from codegraph.models.training.train import run

    env = {"RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": world, "MASTER_PORT": port}
    os.environ.update({k: str(v) for k, v in env.items()}, MASTER_ADDR="127.0.0.1")
    result = run(config, out, max_steps=4, do_export=False, quiet=True)
    torch.save(result.model.state_dict(), Path(out) / f"replica-{rank}.pt")
