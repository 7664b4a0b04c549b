"""Tab completion: what may replace the word left of the cursor in a cell.

``complete(namespace, text, cursor)`` answers ``{'matches', 'cursor_start', 'cursor_end'}``; each
match replaces ``text[cursor_start:cursor_end]`` (``cursor_end`` is the cursor). The shape of a
match depends on where the cursor is:

- a name or an attribute: the identifier (``os.path.jo`` -> ``join``, replacing ``jo``);
- a module after ``import`` or ``from``: the whole dotted name (``import os.pa`` -> ``os.path``,
  replacing ``os.pa``); a name after ``from m import``: the name;
- a key of a dict with string keys: a complete string literal in the quote the user typed
  (``d['a`` -> ``'alpha'``, replacing ``'a``). The closing bracket is left to the user, who may
  be about to write ``d['alpha'][0]``.

Private names (a leading underscore) are offered only when the typed word starts with one.

Nothing is called to find matches. The plain path reads namespaces and class dictionaries and
walks dotted chains with ``inspect.getattr_static``: properties, ``__getattr__`` and other
descriptors never run. jedi, when present, adds inference (``'abc'.up``, ``x = []; x.ap``); it
is asked with its "unsafe executions" off, so that it evaluates no property, and not at all when
an object named in the cell answers attribute lookups with Python code (jedi probes objects with
``hasattr``, which would run that code). Standard library only, jedi imported on first use.
"""

from __future__ import annotations

import builtins
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, List, Optional, Tuple

    # (kind, start, chain, word): see _analyse.
    Context = Tuple[str, int, List[str], str]

_MISSING: Any = object()
_IDENT = r"[^\W\d]\w*"


def complete(
    namespace: dict[str, Any],
    text: str,
    cursor: int | None = None,
    use_jedi: bool | None = None,
) -> dict[str, Any]:
    """Complete the word that ends at ``cursor`` (default: the end of ``text``).

    Only ``text[:cursor]`` is read. ``use_jedi``: None uses jedi when it can be imported, False
    never, True when it can be imported (else the plain path answers alone).
    """
    cursor = len(text) if cursor is None else max(0, min(cursor, len(text)))
    prefix = text[:cursor]
    try:
        kind, start, chain, word = context = _analyse(prefix)
    except Exception:
        # A completion request must never break the engine; an odd cell just gets no matches.
        return _answer(cursor, [], cursor)
    if kind == "comment":
        return _answer(cursor, [], cursor)
    keys = _dict_keys(namespace, chain, word) if kind == "key" else None
    if keys is not None:
        # The dict itself is at hand: its keys are exact (jedi's literals are not always valid).
        return _answer(start, keys, cursor)

    found: tuple[int, list[str]] | None = None
    if use_jedi is not False:
        found = _jedi_matches(namespace, prefix, start if kind == "module" else None)
    if not found or not found[1]:
        try:
            found = start, _plain_matches(namespace, context)
        except Exception:
            found = cursor, []
    start, matches = found
    if kind == "name" and chain and not word:
        # Right after `d[`: both the names of an expression and the keys of d may follow.
        keys = _dict_keys(namespace, chain, "'")
        if keys is not None and start == cursor:
            matches = [m for m in matches if m[:1] not in "'\""] + keys
    return _answer(start, matches, cursor)


def _answer(start: int, matches: Iterable[str], cursor: int) -> dict[str, Any]:
    return {"matches": sorted(set(matches)), "cursor_start": start, "cursor_end": cursor}


def _is_shown(name: str, word: str) -> bool:
    return name.startswith(word) and (word.startswith("_") or not name.startswith("_"))


# -- where the cursor is ------------------------------------------------------------------


def _analyse(prefix: str) -> Context:
    """Classify the cursor position at the end of prefix: (kind, start, chain, word).

    kind is comment, string, key (chain is the dict, word the literal typed so far), module
    (word the dotted name), from (chain the module), attr (chain the object), name (chain the
    object subscripted right before, if any), or none. Matches replace prefix[start:].
    """
    import re

    cursor = len(prefix)
    state, opened = _scan(prefix)
    if state == "comment":
        return "comment", cursor, [], ""
    if state == "string":
        subscript = re.search(rf"({_IDENT}(?:\.{_IDENT})*)\s*\[\s*$", prefix[:opened])
        literal = prefix[opened:]
        if subscript and literal[:3] not in ("'''", '"""'):
            return "key", opened, subscript.group(1).split("."), literal
        return "string", cursor, [], ""

    line = prefix[prefix.rfind("\n") + 1 :]
    statement = line[line.rfind(";") + 1 :]
    found = re.match(r"\s*(?:import\s+(?:.*,)?\s*|from\s+)([\w.]*)$", statement)
    if found:
        dotted = found.group(1)
        if dotted.startswith("."):  # relative imports depend on a package the cell is not in
            return "none", cursor, [], ""
        return "module", cursor - len(dotted), [], dotted
    found = re.match(r"\s*from\s+([\w.]+)\s+import\s+(?:.*[,(])?\s*(\w*)$", statement)
    if found:
        module, word = found.group(1), found.group(2)
        if module.startswith("."):
            return "none", cursor, [], ""
        return "from", cursor - len(word), module.split("."), word
    if re.match(r"\s*(?:import|from)\s", statement):  # `import os as o`: a new name, not ours
        return "none", cursor, [], ""

    found = re.search(rf"((?:{_IDENT}\.)*)({_IDENT})?$", line)
    assert found is not None  # the pattern matches the empty string at the end
    chain, word = found.group(1), found.group(2) or ""
    before = line[: found.start()][-1:]
    if before == "." or before.isalnum():
        # `f().x`, `1.x`: what precedes is not a plain name, and finding out would mean running it.
        return "none", cursor, [], ""
    if chain:
        return "attr", cursor - len(word), chain[:-1].split("."), word
    subscript = re.search(rf"({_IDENT}(?:\.{_IDENT})*)\s*\[\s*$", line[: found.start()])
    return "name", cursor - len(word), subscript.group(1).split(".") if subscript else [], word


def _scan(code: str) -> tuple[str, int]:
    """Tell whether the end of code is in code, a comment or a string; and where that began."""
    i, end = 0, len(code)
    while i < end:
        char = code[i]
        if char == "#":
            newline = code.find("\n", i)
            if newline < 0:
                return "comment", i
            i = newline + 1
        elif char in "'\"":
            quote = code[i : i + 3] if code[i : i + 3] in ("'''", '"""') else char
            opened, i = i, i + len(quote)
            while True:
                if i >= end:
                    return "string", opened
                if code[i] == "\\":
                    i += 2
                elif code.startswith(quote, i) or (len(quote) == 1 and code[i] == "\n"):
                    i += len(quote)  # an unterminated one-line string ends with its line
                    break
                else:
                    i += 1
        else:
            i += 1
    return "code", end


# -- the plain path -------------------------------------------------------------------------


def _plain_matches(namespace: dict[str, Any], context: Context) -> list[str]:
    """Matches found by reading namespaces, class dictionaries and the module path only."""
    kind, _, chain, word = context
    if kind == "module":
        last = word.rpartition(".")[2]
        return [
            name
            for name in _module_names(word)
            if name.startswith(word) and _is_shown(name.rpartition(".")[2], last)
        ]
    if kind == "from":
        return [name for name in _from_import_names(".".join(chain)) if _is_shown(name, word)]
    if kind == "attr":
        target = _resolve(namespace, chain)
        names = [] if target is _MISSING else _attribute_names(target)
        return [name for name in names if _is_shown(name, word)]
    if kind == "name":
        import keyword

        names = set(keyword.kwlist)
        names.update(key for key in list(namespace) if type(key) is str)
        names.update(key for key in list(_builtin_names(namespace)) if type(key) is str)
        return [name for name in names if _is_shown(name, word)]
    return []


def _dict_keys(namespace: dict[str, Any], chain: list[str], typed: str) -> list[str] | None:
    """String keys of the dict named by chain, as literals starting with typed; None if no dict."""
    target = _resolve(namespace, chain)
    if target is _MISSING or dict not in _mro(type(target)):
        return None
    quote = typed[0]
    literals = []
    # dict.keys, not target.keys: a subclass may override keys() with Python code.
    for key in list(dict.keys(target)):
        if type(key) is str:
            literal = repr(key)
            if literal[0] != quote:
                # repr chose the other quote, so this one appears bare inside: escape it.
                literal = quote + literal[1:-1].replace(quote, "\\" + quote) + quote
            if literal.startswith(typed):
                literals.append(literal)
    return literals


def _module_names(dotted: str) -> list[str]:
    """Importable modules that share dotted's package: top-level ones, or a package's children."""
    import pkgutil

    package = dotted.rpartition(".")[0]
    if package:
        return [package + "." + name for name in _submodules(package)]
    names = set(sys.builtin_module_names)
    names.update(module.name for module in pkgutil.iter_modules())
    # Modules imported through other finders (editable installs, zip apps) are seen here only.
    names.update(name for name in list(sys.modules) if "." not in name)
    return [name for name in names if name.isidentifier()]


def _submodules(package: str) -> list[str]:
    """Names of the modules inside package, importing at most its parent packages."""
    import importlib.util
    import inspect
    import pkgutil

    module = sys.modules.get(package)
    path = inspect.getattr_static(module, "__path__", None) if module is not None else None
    if path is None:
        try:
            spec = importlib.util.find_spec(package)
        except (Exception, SystemExit):  # a parent package may fail, even exit, on import
            return []
        path = spec.submodule_search_locations if spec is not None else None
    if not path:
        return []
    return [info.name for info in pkgutil.iter_modules(list(path))]


def _from_import_names(module_name: str) -> list[str]:
    """What `from module_name import ...` may name: its submodules and its global names."""
    import importlib

    names = set(_submodules(module_name))
    module = sys.modules.get(module_name)
    if module is None:
        try:
            # The cell is about to import it anyway; its global names are known no other way.
            module = importlib.import_module(module_name)
        except (Exception, SystemExit):
            module = None
    if module is not None:
        names.update(_attribute_names(module))
    return list(names)


# -- objects, looked at without running their code -----------------------------------------


def _mro(cls: type) -> tuple[type, ...]:
    # Read through type's own descriptor: a metaclass may redefine __mro__ as a property.
    mro: tuple[type, ...] = type.__dict__["__mro__"].__get__(cls)
    return mro


def _class_dict(cls: type) -> Any:
    return type.__dict__["__dict__"].__get__(cls)


def _instance_dict(obj: Any) -> dict[str, Any]:
    """obj's own __dict__ if it is the plain one Python provides; else {}.

    A class may define __dict__ as a property: reading that would run its code.
    """
    import types

    for cls in _mro(type(obj)):
        slot = _class_dict(cls).get("__dict__", _MISSING)
        if slot is _MISSING:
            continue
        if type(slot) in (types.GetSetDescriptorType, types.MemberDescriptorType):
            try:
                value = slot.__get__(obj, type(obj))
            except Exception:
                return {}
            return value if type(value) is dict else {}
        return {}
    return {}


def _attribute_names(obj: Any) -> list[str]:
    """The names dir(obj) would list, read from dictionaries rather than from obj.__dir__."""
    import types

    names = set(_instance_dict(obj))
    if not issubclass(type(obj), types.ModuleType):
        owner = obj if issubclass(type(obj), type) else type(obj)
        for cls in _mro(owner):
            names.update(_class_dict(cls))
    return [name for name in names if type(name) is str]


def _builtin_names(namespace: dict[str, Any]) -> dict[str, Any]:
    """The builtins a cell in namespace sees: a module, or a dict (as in exec'd modules)."""
    found = namespace.get("__builtins__", builtins)
    return found if type(found) is dict else _instance_dict(found)


def _resolve(namespace: dict[str, Any], chain: list[str]) -> Any:
    """The object a dotted chain names, looked up without running code; _MISSING if unknown."""
    found = _MISSING
    for found in _walk(namespace, chain):
        pass
    return found


def _walk(namespace: dict[str, Any], chain: list[str]) -> Iterable[Any]:
    """Yield the objects along a dotted chain, stopping where one cannot be looked up safely."""
    obj = namespace.get(chain[0], _MISSING)
    if obj is _MISSING:
        obj = _builtin_names(namespace).get(chain[0], _MISSING)
    for name in chain[1:]:
        if obj is _MISSING:
            return
        yield obj
        obj = _static_attribute(obj, name)
    if obj is not _MISSING:
        yield obj


def _static_attribute(obj: Any, name: str) -> Any:
    """getattr(obj, name) when that runs no Python code; else _MISSING."""
    import inspect
    import types

    if name == "__class__":
        return type(obj)
    try:
        value = inspect.getattr_static(obj, name)
    except AttributeError:
        return _MISSING
    if issubclass(type(obj), types.ModuleType):
        return value  # a module's globals are never descriptors to invoke
    kind = type(value)
    if kind in (staticmethod, classmethod):
        return value.__func__  # a function has the attributes of the method it would become
    if kind in (types.GetSetDescriptorType, types.MemberDescriptorType):
        # Implemented in C (slots, builtin attributes): reading one runs no Python code.
        if value.__objclass__ not in _mro(type(obj)):
            return value
        try:
            return value.__get__(obj, type(obj))
        except Exception:
            return _MISSING
    routines = (
        types.FunctionType,
        types.MethodDescriptorType,
        types.WrapperDescriptorType,
        types.ClassMethodDescriptorType,
    )
    # Routines bind to obj when looked up through it, but have the attributes of what they bind to.
    if kind in routines or not any("__get__" in _class_dict(c) for c in _mro(kind)):
        return value
    # property, cached_property and other descriptors: their value exists only once run.
    return _MISSING


def _runs_code_on_lookup(obj: Any) -> bool:
    """Whether an attribute lookup on obj may run Python code (__getattr__, __getattribute__)."""
    import types

    if issubclass(type(obj), types.ModuleType) and "__getattr__" in _instance_dict(obj):
        return True  # PEP 562
    for hook in ("__getattr__", "__getattribute__"):
        for cls in _mro(type(obj)):
            entry = _class_dict(cls).get(hook, _MISSING)
            if entry is not _MISSING:
                if type(entry) is not types.WrapperDescriptorType:
                    return True
                break
    return False


# -- jedi -----------------------------------------------------------------------------------


def _jedi_matches(
    namespace: dict[str, Any], prefix: str, module_start: int | None
) -> tuple[int, list[str]] | None:
    """Ask jedi; None when it is missing, failed, or might run code of the user's objects."""
    import re

    try:
        import jedi
    except ImportError:
        return None
    for chain in set(re.findall(rf"{_IDENT}(?:\.{_IDENT})*", prefix)):
        # jedi looks objects up with hasattr (inspect.unwrap): objects with a __getattr__
        # would run it, even with unsafe executions off.
        if any(_runs_code_on_lookup(obj) for obj in _walk(namespace, chain.split("."))):
            return None
    cursor = len(prefix)
    saved = jedi.settings.allow_unsafe_interpreter_executions
    try:
        # Read once, by the constructor: with it off jedi evaluates no property or __getitem__.
        jedi.settings.allow_unsafe_interpreter_executions = False
        try:
            script = jedi.Interpreter(prefix, [namespace])
        finally:
            jedi.settings.allow_unsafe_interpreter_executions = saved
        found = [
            (cursor - completion.get_completion_prefix_length(), completion.name)
            for completion in script.complete(
                prefix.count("\n") + 1, cursor - prefix.rfind("\n") - 1
            )
        ]
    except Exception:
        return None
    # jedi also offers case-insensitive matches and private names; the contract offers neither.
    found = [(begin, name) for begin, name in found if _is_shown(name, prefix[begin:])]
    if not found:
        return cursor, []
    # jedi completes the last part of `import os.pa`; the contract replaces the dotted name.
    start = module_start if module_start is not None else min(begin for begin, _ in found)
    return start, [prefix[start:begin] + name for begin, name in found]
