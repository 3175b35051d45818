"""``codegraph train export``: the runtime model (NAME.onnx) of an existing checkpoint NAME.

The exporter itself is :func:`codegraph.models.export.export_runtime`; every checkpoint
that :func:`~codegraph.models.predict.save_checkpoint` writes has one already.
"""

from __future__ import annotations

import sys

from codegraph.models.export import export_runtime


def main(argv: list[str] | None = None) -> int:
    """``codegraph train export``: write NAME.onnx for checkpoint NAME and record it in NAME.json."""
    import argparse

    from codegraph.models.predict import load_checkpoint
    from codegraph.models.runtime import ModelError

    parser = argparse.ArgumentParser(
        prog="codegraph train export",
        description="Export a checkpoint's runtime model (ONNX, what scans load) beside it.",
        allow_abbrev=False,
    )
    parser.add_argument("checkpoint", help="checkpoint NAME (NAME.json + NAME.safetensors)")
    parser.add_argument(
        "--int8", action="store_true", help="dynamic int8 quantization of the matrix products"
    )
    args = parser.parse_args(argv)
    try:
        model = load_checkpoint(args.checkpoint)[0]
    except ModelError as exc:
        print(f"codegraph train export: {exc}", file=sys.stderr)
        return 2
    path = export_runtime(model, args.checkpoint, int8=args.int8)
    print(f"exported {path} ({'int8' if args.int8 else 'float32'}, {path.stat().st_size:,} bytes)")
    return 0
