"""Text and colour of the nodes: shapes, dtypes, numbers, gradient statistics (HTML-like labels)."""
from __future__ import annotations

import math
from html import escape

import numpy as np

# fill colours of the picture (also listed in the legend)
COLORS = {
    "op": "#e9ecef",          # an op / grad-function node
    "param": "#cfe2ff",       # a named parameter (leaf)
    "leaf": "#fff3bf",        # any other leaf that requires grad
    "input": "#ffffff",       # a tensor argument outside the graph (data x)
    "output": "#c3f0ca",      # the root
    "value": "#ffffff",       # a Scalar value (micrograd style)
    "module": "#dee2e6",      # a collapsed module
    "nan": "#ff6b6b",         # NaN/Inf in the gradient (or value)
    "exploding": "#ffa94d",   # gradient RMS above the upper bound
    "vanishing": "#b197fc",   # gradient RMS below the lower bound
}
STATUS_TEXT = {"nan": "NaN/Inf gradient", "exploding": "exploding gradient",
               "vanishing": "vanishing gradient"}


def fmt_shape(shape) -> str:
    """``(64, 10)`` as the Python tuple; ``()`` for a 0-d value."""
    return str(tuple(int(s) for s in shape)) if shape is not None else "?"


def fmt_dtype(dtype) -> str:
    """``float32``; empty for unknown."""
    return "" if dtype is None else str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype


def fmt_num(x) -> str:
    """A number in 4 significant places, micrograd-like (``2.0000``, ``1.2e-07``, ``nan``)."""
    if x is None:
        return "?"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4f}"
    return f"{x:.3e}"


def grad_stats(grad):
    """``(norm, rms, finite)`` of a gradient (Tensor, ndarray or float), computed in float64."""
    g = np.asarray(getattr(grad, "data", grad), dtype=np.float64)
    finite = bool(np.isfinite(g).all())
    if not finite:
        return float("nan"), float("nan"), False
    norm = float(np.sqrt(np.sum(g * g)))
    return norm, norm / math.sqrt(max(g.size, 1)), True


def grad_status(rms, finite, largest_rms, grad_range):
    """"nan", "exploding", "vanishing" or None for one leaf's gradient.

    Vanishing: RMS below ``grad_range[0]`` or below 1e-3 × the largest leaf RMS of the graph
    (the first layers of a saturated tanh net; exploding leaves excluded from that maximum);
    exploding: RMS above ``grad_range[1]``.
    """
    if not finite:
        return "nan"
    lo, hi = grad_range
    if rms > hi:
        return "exploding"
    if rms < lo or (largest_rms > 0 and rms < 1e-3 * largest_rms):
        return "vanishing"
    return None


def html_label(title, lines=(), bold=True) -> str:
    """An HTML-like Graphviz label: a title and smaller detail lines."""
    t = escape(str(title))
    head = f"<B>{t}</B>" if bold else t
    rows = "".join(f'<BR/><FONT POINT-SIZE="10">{escape(str(x))}</FONT>' for x in lines if x)
    return f"<{head}{rows}>"


def record_label(cells) -> str:
    """A micrograd-style record ``{ label | data 2.0000 | grad -6.0000 }`` (Graphviz record)."""
    esc = [str(c).replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
           .replace("|", "\\|").replace("<", "\\<").replace(">", "\\>") for c in cells if c != ""]
    return "{ " + " | ".join(esc) + " }"


def op_title(fn_name: str, direction: str, scalar: bool) -> str:
    """``MulBackward`` (backward view), ``Mul`` (forward view); Scalar ops as symbols (``*``)."""
    if scalar:
        sym = SCALAR_SYMBOLS.get(fn_name)
        base = fn_name[1:] if fn_name.startswith("S") and fn_name[1:2].isupper() else fn_name
        if direction == "forward":
            return sym or base.lower()
        return base + "Backward"
    if fn_name.endswith("Function") and len(fn_name) > 8:
        fn_name = fn_name[:-8]          # Conv2dFunction -> Conv2d
    return fn_name if direction == "forward" else fn_name + "Backward"


SCALAR_SYMBOLS = {"SAdd": "+", "SSub": "−", "SMul": "*", "SDiv": "/", "SPow": "**", "SNeg": "neg",
                  "SExp": "exp", "SLog": "log", "STanh": "tanh", "SSigmoid": "σ", "SRelu": "relu"}
