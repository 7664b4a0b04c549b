"""Introspection: what a name in a cell's namespace is, for `obj?` and `obj??` cells.

``introspect(namespace, 'os.path.join')`` answers a dict: found, name, type, signature, doc,
file, source. The expression must be a dotted chain of names; it is resolved in the namespace,
then in the builtins, with getattr along the chain as IPython's ``?`` does (a property in the
chain runs, since the user asked for what it gives). Nothing else is evaluated.

``parse_help_request`` recognises help cells, ``format_introspection`` renders the answer as
the plain text such a cell prints. Standard library only; inspect is imported on first use.
"""

from __future__ import annotations

import builtins

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MISSING: Any = object()
# Python 3 made these keywords, so they are in no namespace; `None?` still means something.
_CONSTANTS = {"None": None, "True": True, "False": False}
_LABELS = ("Type", "Signature", "File", "Docstring", "Source")


def parse_help_request(code: str) -> tuple[str, int] | None:
    """Return (expr, detail) if code is a help cell (`obj?`, `obj??`, `?obj`, `??obj`), else None.

    detail is 0 for one question mark, 1 for two; expr is a dotted chain of names.
    """
    # Runs before every cell: answer the common case without a regular expression.
    request = code.strip()
    if not (request.startswith("?") or request.endswith("?")):
        return None
    expr = request.strip("?")
    marks = len(request) - len(expr)
    if (request.startswith("?") and request.endswith("?")) or not 1 <= marks <= 2:
        return None
    expr = expr.strip()
    return (expr, marks - 1) if _is_dotted(expr) else None


def introspect(namespace: dict[str, Any], expr: str, detail: int = 0) -> dict[str, Any]:
    """Describe the object expr names: found, name, type, signature, doc, file, source.

    expr is a name or a dotted chain (``len``, ``os.path.join``, ``x.method``); anything else
    is not evaluated and answers found False. signature, doc and file are None where unknown;
    source is filled only when detail >= 1, and None where unavailable (builtins).
    """
    info: dict[str, Any] = dict.fromkeys(("type", "signature", "doc", "file", "source"))
    info.update(found=False, name=expr)
    chain = expr.strip()
    obj = _resolve(namespace, chain) if _is_dotted(chain) else _MISSING
    if obj is _MISSING:
        return info
    import inspect

    info.update(found=True, type=type(obj).__name__, doc=_doc(obj))
    if callable(obj):
        try:
            info["signature"] = chain.rpartition(".")[2] + str(inspect.signature(obj))
        except Exception:  # builtins without a text signature, odd __signature__ attributes
            pass
    # An instance is defined where its class is.
    defined = obj if _has_source_kind(obj) else type(obj)
    if not _defined_by_a_cell(defined, namespace):
        info["file"], info["source"] = _where(defined, detail)
    return info


def format_introspection(info: dict[str, Any]) -> str:
    """Render introspect's answer as IPython does: Type, Signature, File, Docstring, Source.

    Only the fields that have a value appear; an unknown name gives "Object `name` not found."
    The text ends with a newline.
    """
    if not info.get("found"):
        return f"Object `{info.get('name')}` not found.\n"
    lines = []
    for label in _LABELS:
        value = info.get(label.lower() if label != "Docstring" else "doc")
        if not value:
            continue
        text = str(value).rstrip("\n")
        if "\n" in text or label == "Source":
            lines.append(label + ":\n" + text)  # a block keeps its indentation intact
        else:
            lines.append(f"{label + ':':<11}{text}")
    return "\n".join(lines) + "\n"


def _is_dotted(expr: str) -> bool:
    return all(part.isidentifier() for part in expr.split("."))


def _resolve(namespace: dict[str, Any], chain: str) -> Any:
    """The object chain names in namespace, then the builtins; _MISSING if there is none."""
    import keyword

    first, *rest = chain.split(".")
    if first in namespace:
        obj = namespace[first]
    elif first in _CONSTANTS:
        obj = _CONSTANTS[first]
    elif keyword.iskeyword(first):
        return _MISSING
    else:
        found = namespace.get("__builtins__", builtins)
        obj = (found if type(found) is dict else vars(found)).get(first, _MISSING)
    for name in rest:
        try:
            obj = getattr(obj, name)
        except Exception:  # AttributeError, or whatever a property raised
            return _MISSING
    return obj


def _doc(obj: Any) -> str | None:
    """obj's docstring, or its class's for an instance that has none of its own."""
    import inspect

    try:
        doc = inspect.getdoc(obj)
        if doc is None and not _has_source_kind(obj):
            doc = inspect.getdoc(type(obj))
    except Exception:  # a __doc__ property may raise
        return None
    return doc


def _defined_by_a_cell(obj: Any, namespace: dict[str, Any]) -> bool:
    """Whether obj is a class that code run in namespace defined.

    inspect looks such a class up in sys.modules[cls.__module__], which for a cell is the
    engine's own __main__: its file and source would be wrong ones.
    """
    import sys

    if not isinstance(obj, type) or obj.__module__ != namespace.get("__name__"):
        return False
    return getattr(sys.modules.get(obj.__module__), "__dict__", None) is not namespace


def _where(obj: Any, detail: int) -> tuple[str | None, str | None]:
    """The file that defines obj, and its source text if detail >= 1."""
    import inspect

    try:
        file = inspect.getsourcefile(obj) or inspect.getfile(obj)
    except Exception:  # TypeError: builtins are in no file
        return None, None
    source = None
    try:
        source = inspect.getsource(obj) if detail >= 1 else None
    except Exception:  # OSError: no source; odd files may even fail to tokenize
        pass
    if file.startswith("<frozen "):
        # Frozen stdlib modules (3.11+) label their code `<frozen posixpath>`; the module knows
        # its file, and inspect does not look there for functions.
        file = getattr(inspect.getmodule(obj), "__file__", None) or file
        code = getattr(obj, "__code__", None)
        if source is None and detail >= 1 and code is not None:
            import linecache

            lines = linecache.getlines(file)[code.co_firstlineno - 1 :]
            source = "".join(inspect.getblock(lines)) if lines else None
    # `<input>`, `<string>`: code compiled from text names no file one could open.
    return (None if file.startswith("<") else file), source


def _has_source_kind(obj: Any) -> bool:
    """Whether obj is something with source of its own: module, class, function, code..."""
    import inspect

    checks = (inspect.ismodule, inspect.isclass, inspect.isroutine, inspect.iscode)
    return any(check(obj) for check in checks)
