"""The codegraph language server (`codegraph lsp`), installed as ``codegraph.lsp``.

* :mod:`.server` - ``main(argv)``, the session state (settings, capabilities, documents);
* :mod:`.handlers` - one short handler per LSP method;
* :mod:`.diagnostics` - debounced push / pull diagnostics, superseded work, settling;
* :mod:`.analysis` - the analysis thread: model, prediction cache, workspace index;
* :mod:`.incremental` - re-analysing only the functions an edit changed;
* :mod:`.cache` - per-function prediction cache;
* :mod:`.convert` - Finding -> Diagnostic / CodeAction / Hover, position encodings;
* :mod:`.settings` - flags > editor settings > pyproject.toml > defaults;
* :mod:`.index` - URIs and paths, the cross-file Project kept current;
* :mod:`.debounce` - per-document debouncing on the event loop.
"""
