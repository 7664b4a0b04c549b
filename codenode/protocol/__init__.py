"""The three wires, each message defined once (the only thing the tiers share).

- ``engine``: backend <-> engine process, length-prefixed JSON frames over a socket pair
  (``frames``: the one codec, blocking for the engine, asyncio for the backend);
- ``backend``: frontend <-> backend, the engine bus (JSON over a WebSocket);
- ``browser``: browser tab <-> frontend, the notebook bus (JSON over a WebSocket).

Each message is a TypedDict with a docstring saying who sends it and when; ``schema`` makes
the checks from them (``checks`` compiles them), and ``evaluation`` adds an evaluation's
messages up on a client. The engine's modules here (engine, frames, schema, checks,
evaluation) are standard library only and run on Python >= 3.9.
"""
