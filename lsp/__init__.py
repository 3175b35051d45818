"""The codegraph language server."""
