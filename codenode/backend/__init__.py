"""The backend: a container of engine processes, run by ``codenode backend`` (docs/backend.md).

It knows engine types (plug-in files), engines and workspaces, never users or notebooks; the
frontend reaches it over HTTP and the engine bus, with a token.
"""
