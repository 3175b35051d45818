"""The model's architecture and feature switches (:class:`ModelConfig`), and the input transforms
they ask for; no torch here: the runtime reads the same config from a checkpoint's sidecar."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from codegraph.models.encodings import PE_SCOPES, Compose, build_transform
from codegraph.models.schema_map import EDGE_KIND_NAMES, check_names
from codegraph.models.tensorize import (
    NUM_BASE_EDGE_TYPES,
    NUM_EDGE_TYPES,
    NUM_EDGE_TYPES_WITH_NAMES,
    Vocabulary,
)
from codegraph.rules import RULE_CODES

MODEL_KINDS = ("transformer", "baseline")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and feature switches; saved in every checkpoint."""

    kind: str = "transformer"  # "transformer" (Detector) | "baseline" (GGNN message passing)
    hidden: int = 64
    layers: int = 3
    heads: int = 4
    ffn_mult: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.0
    local_mp: bool = False  # GraphGPS blocks (GGNN + attention) instead of pure attention
    shortcuts: bool = True  # DEF_USE edges and per-function virtual nodes
    rw_pe: bool = True
    rw_k: int = 8
    lap_pe: bool = True
    lap_k: int = 8
    lap_sign_flip: bool = True  # random eigenvector signs while training
    pe_scope: str = "function"  # encode the function's graph nodes ("function") or all ("unit")
    name_edges: bool = False  # NAME_MATCH edges: argument -> the callee's parameter spelled like it
    # vocabulary sizes (filled in by with_vocab)
    num_node_types: int = 0
    num_subtokens: int = 0
    num_repair_tokens: int = 0
    #: the rules it scores and the edge kinds it reads, in the order of its embeddings (a
    #: checkpoint records those it was trained with; see codegraph.models.schema_map)
    rules: tuple[str, ...] = RULE_CODES
    edge_kinds: tuple[str, ...] = EDGE_KIND_NAMES

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", check_names("rules", self.rules))
        object.__setattr__(self, "edge_kinds", check_names("edge_kinds", self.edge_kinds))
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model.kind must be one of {MODEL_KINDS}, not {self.kind!r}")
        if self.pe_scope not in PE_SCOPES:
            raise ValueError(f"model.pe_scope must be one of {PE_SCOPES}, not {self.pe_scope!r}")
        if self.hidden % self.heads:
            raise ValueError(f"model.hidden ({self.hidden}) must be divisible by model.heads ({self.heads})")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(rules=list(self.rules), edge_kinds=list(self.edge_kinds))
        return d

    def with_vocab(self, vocab: Vocabulary) -> ModelConfig:
        return replace(
            self,
            num_node_types=len(vocab.node_types),
            num_subtokens=len(vocab.subtokens),
            num_repair_tokens=len(vocab.repair_tokens),
        )

    @property
    def num_edge_types(self) -> int:
        """Edge types the model embeds: its edge kinds both ways, then shortcut (and name) edges."""
        extra = (NUM_EDGE_TYPES_WITH_NAMES if self.name_edges else NUM_EDGE_TYPES) - NUM_BASE_EDGE_TYPES
        return 2 * len(self.edge_kinds) + extra

    @property
    def rw_dim(self) -> int:
        return self.rw_k if self.rw_pe else 0

    @property
    def lap_dim(self) -> int:
        return self.lap_k if self.lap_pe else 0


def input_transform(config: ModelConfig) -> Compose:
    """The transforms (shortcut edges, positional encodings) this model's inputs need (numpy)."""
    return build_transform(
        shortcuts=config.shortcuts,
        rw_k=config.rw_dim,
        lap_k=config.lap_dim,
        pe_scope=config.pe_scope,
        name_edges=config.name_edges,
    )
