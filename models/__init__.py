"""The neural part of codegraph: tensors, positional encodings, layers, detector, training."""
