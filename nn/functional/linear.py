"""``F.linear``: y = x Wᵀ + b as one fused, twice-differentiable Function."""
from __future__ import annotations

from engine import Function, Tensor, as_tensor
from engine.kernels._blas import product

__all__ = ["linear"]


class Linear(Function):
    """y = x @ Wᵀ + b (x: (..., in), W: (out, in), b: (out,) or None);
    dx = g @ W, dW = gᵀ x, db = Σ g over every dim but the last."""

    raw = True

    @staticmethod
    def forward(ctx, x, weight, bias):
        out = product(x, weight.T)
        if bias is not None:
            out += bias
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        n_out, n_in = w.shape
        gx = product(g, w) if nx else None
        g2 = g.reshape(-1, n_out) if (nw or nb) else None
        gw = product(g2.T, x.reshape(-1, n_in)) if nw else None
        gb = g2.sum(axis=0) if nb else None
        return gx, gw, gb


def linear(input, weight, bias=None):  # noqa: A002
    """y = input @ weightᵀ + bias, input (*, in_features), weight (out_features, in_features),
    bias (out_features,) or None."""
    input = as_tensor(input)  # noqa: A001
    if not isinstance(weight, Tensor) or not (bias is None or isinstance(bias, Tensor)):
        raise TypeError(f"linear: weight must be a Tensor and bias a Tensor or None, got "
                        f"{type(weight).__name__} and {type(bias).__name__}")
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: input {xs} and weight {ws}: the last dimension of the input "
                         f"({xs[-1] if xs else None}) must equal in_features = weight.shape[1] "
                         f"({ws[1] if len(ws) == 2 else None})")
    if bias is not None and tuple(bias.shape) != (ws[0],):
        raise ValueError(f"linear: bias {tuple(bias.shape)} must have shape ({ws[0]},) for weight {ws}")
    return Linear.apply(input, weight, bias)
