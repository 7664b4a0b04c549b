"""Rich output: MIME bundles for objects that can show themselves as more than text.

An object is rich when it has one of the ``_repr_*_`` methods that IPython made a convention
(``_repr_png_``, ``_repr_html_``, ...), a ``_repr_mimebundle_``, or is a matplotlib figure.
Matplotlib is optional: nothing here imports it unless the cell already did.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    MimeBundle = Dict[str, Any]

# (method, MIME type), richest first; the browser shows the first it can.
REPR_METHODS = (
    ("_repr_png_", "image/png"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_latex_", "text/latex"),
    ("_repr_json_", "application/json"),
)
BINARY_TYPES = ("image/png", "image/jpeg")


def _b64(data: Any) -> str:
    import base64

    if isinstance(data, str):  # already base64, as some libraries return it
        return data
    return base64.b64encode(bytes(data)).decode("ascii")


def _figure_png(figure: Any) -> str:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return _b64(buffer.getvalue())


def is_figure(obj: Any) -> bool:
    """Whether obj is a matplotlib figure (without importing matplotlib)."""
    module = sys.modules.get("matplotlib.figure")
    return module is not None and isinstance(obj, module.Figure)


def mime_bundle(obj: Any) -> Optional[MimeBundle]:
    """The rich MIME bundle of obj with its 'text/plain' repr, or None if it is only text."""
    bundle: MimeBundle = {}
    if is_figure(obj):
        bundle["image/png"] = _figure_png(obj)
    else:
        bundle.update(_from_repr_methods(obj))
    if not bundle:
        return None
    bundle.setdefault("text/plain", repr(obj))
    return bundle


def _from_repr_methods(obj: Any) -> MimeBundle:
    bundle: MimeBundle = {}
    if isinstance(obj, type):  # a class has these methods unbound; it shows as text
        return bundle
    method = getattr(obj, "_repr_mimebundle_", None)
    if callable(method):
        data = method()
        if isinstance(data, tuple):  # (data, metadata)
            data = data[0]
        if isinstance(data, dict):
            bundle.update(data)
    for name, mime in REPR_METHODS:
        if mime in bundle:
            continue
        method = getattr(obj, name, None)
        if not callable(method):
            continue
        value = method()
        if isinstance(value, tuple):  # (data, metadata)
            value = value[0]
        if value is None:
            continue
        bundle[mime] = _b64(value) if mime in BINARY_TYPES else value
    for mime in BINARY_TYPES:
        if mime in bundle:
            bundle[mime] = _b64(bundle[mime])
    return bundle


def plain_bundle(obj: Any) -> MimeBundle:
    """The bundle for an object that is only text."""
    return {"text/plain": obj if isinstance(obj, str) else repr(obj)}


class Figures:
    """Matplotlib's pyplot figures, shown at the end of a cell like Jupyter's inline backend."""

    def __init__(self) -> None:
        self.prepared = False
        self.shown: List[int] = []

    def prepare(self, show: Callable[[MimeBundle], None]) -> None:
        """Once pyplot is imported: draw off-screen, and make pyplot.show() call show(bundle)."""
        if self.prepared:
            return
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return
        self.prepared = True
        if pyplot.get_backend().lower() != "agg":
            pyplot.switch_backend("agg")

        def show_now(*args: Any, **kwargs: Any) -> None:
            for bundle in self.collect():
                show(bundle)

        pyplot.show = show_now  # type: ignore[attr-defined]

    def mark_shown(self, figure: Any) -> None:
        """A figure displayed explicitly is not shown again at the end of the cell."""
        self.shown.append(id(figure))

    def collect(self) -> List[MimeBundle]:
        """Bundles of the open figures not yet shown; every figure is closed afterwards."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return []
        bundles = []
        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            if id(figure) in self.shown:
                continue
            bundle = mime_bundle(figure)
            if bundle is not None:
                bundles.append(bundle)
        pyplot.close("all")
        self.shown = []
        return bundles
