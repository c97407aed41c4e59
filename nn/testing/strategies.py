"""Strategies for layer configurations: ``conv2d_configs()`` (valid Conv2d arguments with a
matching input shape) and ``modules()`` (built-in layers with valid constructor arguments)."""
from __future__ import annotations

from typing import Callable, NamedTuple

from hypothesis import strategies as st

from .. import layers
from ..containers import Flatten, Identity, Sequential

__all__ = ["Conv2dConfig", "ModuleCase", "conv2d_configs", "modules"]


class Conv2dConfig(NamedTuple):
    """Arguments of ``nn.Conv2d`` and an input shape (N, C, H, W) they accept."""

    in_channels: int
    out_channels: int
    kernel_size: tuple
    stride: tuple
    padding: object  # a pair, "same" or "valid"
    dilation: tuple
    groups: int
    bias: bool
    padding_mode: str
    input_shape: tuple

    def kwargs(self) -> dict:
        """The constructor arguments, by name."""
        d = self._asdict()
        del d["input_shape"]
        return d

    def build(self):
        """``nn.Conv2d(**self.kwargs())``."""
        return layers.Conv2d(**self.kwargs())

    def output_hw(self) -> tuple:
        """(H_out, W_out) as PyTorch computes them."""
        h, w = self.input_shape[2:]
        if self.padding == "same":
            return h, w
        pads = (0, 0) if self.padding == "valid" else self.padding
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in
                     zip((h, w), pads, self.dilation, self.kernel_size, self.stride))


@st.composite
def conv2d_configs(draw, max_batch=2, max_channels_per_group=3, max_groups=2, max_kernel=3,
                   max_stride=2, max_padding=2, max_dilation=2, max_extra_side=3):
    """A strategy for ``Conv2dConfig``: channel counts divisible by ``groups``, kernel, stride,
    padding (ints per side, ``'same'`` with stride 1, or ``'valid'``), dilation, bias and
    padding_mode, with an input (N, C, H, W) large enough for at least one output pixel (and
    for reflect/circular padding)."""
    groups = draw(st.integers(1, max_groups))
    cin = groups * draw(st.integers(1, max_channels_per_group))
    cout = groups * draw(st.integers(1, max_channels_per_group))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
    kind = draw(st.sampled_from(["ints", "ints", "same", "valid"]))
    if kind == "same":
        stride, padding = (1, 1), "same"
    else:
        stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
        padding = (0, 0) if kind == "valid" else (draw(st.integers(0, max_padding)),
                                                   draw(st.integers(0, max_padding)))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    sides = []
    for i in range(2):
        span = dilation[i] * (kernel[i] - 1) + 1        # receptive field of one output pixel
        pad = 0 if padding in ("same", "valid") else padding[i]
        least = max(1, span - 2 * pad, pad + 1)         # one output pixel; reflect needs pad < side
        if padding == "same":
            least = max(least, span)                    # 'same' pads up to span - 1 in total
        sides.append(least + draw(st.integers(0, max_extra_side)))
    shape = (draw(st.integers(1, max_batch)), cin, sides[0], sides[1])
    return Conv2dConfig(cin, cout, kernel, stride, padding if isinstance(padding, str) else padding,
                        dilation, groups, draw(st.booleans()), mode, shape)


class ModuleCase(NamedTuple):
    """A built-in layer to check: ``check_module(case.factory, case.inputs,
    batch_independent=case.batch_independent)``. ``input_strategy`` is set for layers whose
    input is not a float tensor of ``input_shape`` (e.g. Embedding's integer indices)."""

    name: str
    factory: Callable
    input_shape: tuple
    batch_independent: bool = True
    input_strategy: object = None

    @property
    def inputs(self):
        """What ``check_module`` takes: the input strategy, or else the input shape."""
        return self.input_shape if self.input_strategy is None else self.input_strategy

    def __repr__(self):
        return f"ModuleCase({self.name}, input_shape={self.input_shape})"


def _case(name, make, shape, batch_independent=True, strategy=None):
    return ModuleCase(name, make, tuple(shape), batch_independent, strategy)


@st.composite
def _linear(draw):
    n, i, o, b = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.booleans())
    if draw(st.booleans()):
        return _case(f"Linear({i}, {o}, bias={b})", lambda: layers.Linear(i, o, bias=b), (n, i))
    k = draw(st.integers(2, 3))
    return _case(f"Maxout({i}, {o}, pieces={k})", lambda: layers.Maxout(i, o, pieces=k, bias=b), (n, i))


@st.composite
def _conv(draw):
    c = draw(conv2d_configs(max_extra_side=2))
    return _case(f"Conv2d(**{c.kwargs()})", c.build, c.input_shape)


@st.composite
def _pool(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    kind = draw(st.sampled_from(["max", "avg", "adaptive"]))
    if kind == "adaptive":
        out = draw(st.integers(1, 3))
        side = draw(st.integers(1, 6))
        return _case(f"AdaptiveAvgPool2d({out})", lambda: layers.AdaptiveAvgPool2d(out), (n, c, side, side))
    if kind == "max":
        d = draw(st.integers(1, 2))
        side = max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
        return _case(f"MaxPool2d({k}, stride={s}, padding={p}, dilation={d})",
                     lambda: layers.MaxPool2d(k, stride=s, padding=p, dilation=d), (n, c, side, side))
    side = max(1, k - 2 * p) + draw(st.integers(0, 3))
    cip = draw(st.booleans())
    return _case(f"AvgPool2d({k}, stride={s}, padding={p}, count_include_pad={cip})",
                 lambda: layers.AvgPool2d(k, stride=s, padding=p, count_include_pad=cip),
                 (n, c, side, side))


@st.composite
def _dropout(draw):
    p = draw(st.sampled_from([0.0, 0.25, 0.5]))
    kind = draw(st.sampled_from(["Dropout", "Dropout2d", "AlphaDropout", "DropConnect"]))
    if kind == "Dropout2d":
        return _case(f"Dropout2d({p})", lambda: layers.Dropout2d(p), (2, 2, 3, 3))
    if kind == "DropConnect":
        return _case(f"DropConnect(Linear(3, 2), {p})",
                     lambda: layers.DropConnect(layers.Linear(3, 2), p), (2, 3))
    cls = getattr(layers, kind)
    return _case(f"{kind}({p})", lambda: cls(p), (2, 4))


@st.composite
def _norm(draw):
    c = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["BatchNorm1d", "BatchNorm2d", "LayerNorm", "InstanceNorm2d", "GroupNorm"]))
    affine = draw(st.booleans())
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        track = draw(st.booleans())
        shape = (draw(st.integers(2, 3)), c) + ((3, 3) if kind == "BatchNorm2d" else
                                                draw(st.sampled_from([(), (3,)])))
        cls = getattr(layers, kind)
        return _case(f"{kind}({c}, affine={affine}, track_running_stats={track})",
                     lambda: cls(c, affine=affine, track_running_stats=track), shape,
                     batch_independent=track)
    if kind == "LayerNorm":
        last = draw(st.integers(2, 4))
        return _case(f"LayerNorm({last}, elementwise_affine={affine})",
                     lambda: layers.LayerNorm(last, elementwise_affine=affine), (2, 3, last))
    if kind == "InstanceNorm2d":
        return _case(f"InstanceNorm2d({c}, affine={affine})",
                     lambda: layers.InstanceNorm2d(c, affine=affine), (2, c, 3, 3))
    g = draw(st.sampled_from([1, 2]))
    return _case(f"GroupNorm({g}, {2 * g}, affine={affine})",
                 lambda: layers.GroupNorm(g, 2 * g, affine=affine), (2, 2 * g, 2, 2))


_ACTIVATIONS = ["ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "Softplus", "Sigmoid", "Tanh",
                "GELU", "SiLU", "Mish", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid",
                "LogSigmoid", "Softsign"]


@st.composite
def _activation(draw):
    names = [a for a in _ACTIVATIONS if hasattr(layers, a)] + ["Softmax", "LogSoftmax"]
    name = draw(st.sampled_from(names))
    cls = getattr(layers, name)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)))
    if name in ("Softmax", "LogSoftmax"):
        return _case(f"{name}(dim=1)", lambda: cls(dim=1), shape)
    if name == "GELU":
        approx = draw(st.sampled_from(["none", "tanh"]))
        return _case(f"GELU(approximate={approx!r})", lambda: cls(approximate=approx), shape)
    return _case(f"{name}()", cls, shape)


@st.composite
def _surface(draw):
    """Conv1d, ConvTranspose2d, Upsample, Dropout1d and Embedding (when this build has them)."""
    names = [n for n in ("Conv1d", "ConvTranspose2d", "Upsample", "Dropout1d", "Embedding")
             if hasattr(layers, n)]
    if not names:
        return draw(_linear())
    name = draw(st.sampled_from(names))
    n, g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    cin, cout = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    if name == "Conv1d":
        p, d = draw(st.integers(0, 1)), draw(st.integers(1, 2))
        length = max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
        return _case(f"Conv1d({cin}, {cout}, {k}, stride={s}, padding={p}, dilation={d}, groups={g})",
                     lambda: layers.Conv1d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g),
                     (n, cin, length))
    if name == "ConvTranspose2d":
        p = draw(st.integers(0, (k - 1) // 2))
        op = draw(st.integers(0, s - 1))
        side = draw(st.integers(1, 3))
        return _case(f"ConvTranspose2d({cin}, {cout}, {k}, stride={s}, padding={p}, output_padding={op}, "
                     f"groups={g})", lambda: layers.ConvTranspose2d(cin, cout, k, stride=s, padding=p,
                                                                   output_padding=op, groups=g),
                     (n, cin, side, side))
    if name == "Upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        extra = {} if mode == "nearest" else {"align_corners": draw(st.booleans())}
        return _case(f"Upsample(scale_factor=2, mode={mode!r}, {extra})",
                     lambda: layers.Upsample(scale_factor=2, mode=mode, **extra), (n, 1, 2, 3))
    if name == "Dropout1d":
        return _case("Dropout1d(0.5)", lambda: layers.Dropout1d(0.5), (2, 3, 4))
    from engine.testing import tensors

    num, dim = draw(st.integers(2, 5)), draw(st.integers(1, 3))
    shape = (n, draw(st.integers(1, 3)))
    idx = tensors(shape=shape, dtype="int64", elements=st.integers(0, num - 1))
    return _case(f"Embedding({num}, {dim})", lambda: layers.Embedding(num, dim), shape, True, idx)


@st.composite
def _composite(draw):
    i, h, o = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["mlp", "conv"]))
    if kind == "mlp":
        return _case(f"Sequential(Linear({i}, {h}), Tanh(), Dropout(0.5), Linear({h}, {o}))",
                     lambda: Sequential(layers.Linear(i, h), layers.Tanh(), layers.Dropout(0.5),
                                        layers.Linear(h, o)), (2, i))
    return _case("Sequential(Conv2d(1, 2, 3, padding=1), BatchNorm2d(2), ReLU(), Flatten(), Identity())",
                 lambda: Sequential(layers.Conv2d(1, 2, 3, padding=1), layers.BatchNorm2d(2),
                                    layers.ReLU(), Flatten(), Identity()), (2, 1, 3, 3))


def modules():
    """A strategy for ``ModuleCase``\\ s: the built-in layers (linear, convolution, pooling,
    dropout, normalization, activations, Conv1d, ConvTranspose2d, Upsample, Embedding, and small
    Sequential stacks) with valid constructor arguments and an input they accept.
    ``check_module(case.factory, case.inputs, batch_independent=case.batch_independent)`` must
    pass for every one (Embedding without ``padding_idx``: that row gets no gradient by design)."""
    return st.one_of(_linear(), _conv(), _pool(), _dropout(), _norm(), _activation(), _surface(),
                     _composite())
