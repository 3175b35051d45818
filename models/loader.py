"""The predictor factory that the CLI and the language server hand to the pipeline.

The pipeline never imports the model: it calls the factory when a file must really
be analysed, and only then is the runtime model loaded (:mod:`codegraph.models.runtime`:
onnxruntime, no torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codegraph.config import Settings
    from codegraph.pipeline import Predictor


def predictor_factory(num_threads: int | None = None) -> Callable[[Settings], Predictor]:
    """What the pipeline calls to load the runtime model its settings name (raises ModelError).

    The runtime model always runs on one thread (see :func:`codegraph.models.runtime.load_runtime`),
    which is what ``num_threads`` asks for where it is given (the language server: one function
    at a time is latency-bound, and more threads fight the editor for the cores).
    """
    del num_threads  # one thread always

    def load(settings: Settings) -> Predictor:
        from codegraph.models.runtime import load_runtime

        return load_runtime(settings.model)

    return load
