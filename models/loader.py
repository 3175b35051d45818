"""The predictor factory that the CLI and the language server hand to the pipeline.

The pipeline never imports the model: it calls the factory when a file must really
be analysed, and only then is torch imported (:mod:`codegraph.models.predict`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codegraph.config import Settings
    from codegraph.pipeline import Predictor


def predictor_factory(num_threads: int | None = None) -> Callable[[Settings], Predictor]:
    """What the pipeline calls to load the model its settings name (raises ModelError).

    ``num_threads`` caps the model's intra-op threads (the language server uses 1: one
    function at a time is latency-bound, and more threads fight the editor for the cores).
    """

    def load(settings: Settings) -> Predictor:
        from codegraph.models.predict import load_predictor

        return load_predictor(settings.model, num_threads=num_threads)

    return load
