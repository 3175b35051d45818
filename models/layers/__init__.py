"""Neural layers, one per file."""
