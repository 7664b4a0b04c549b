"""The Python engine: an Interpreter object, and the process that serves one over a socket.

Standard library only (jedi and matplotlib when present), so that any Python >= 3.9 can host
it. Nothing here imports codenode.backend or codenode.frontend.
"""
