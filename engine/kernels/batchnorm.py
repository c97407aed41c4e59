"""Fused batch normalization over ``(N, C)`` or ``(N, C, *)`` ndarrays (statistics per channel C).

The input is viewed as ``(N, C, L)``. The forward computes, channel by channel, the mean and the
biased variance (two sweeps over the channel's ``N*L`` values, which stay in cache), then
normalizes and applies the affine map. The backward sweeps in memory order instead: one reduction
sweep with float64 sums per channel, then one output sweep. Channel by channel, its two sweeps
over ``gy`` and ``x`` (a channel's N rows lie ``C*L`` floats apart, 256 KiB for 64x32x32, a
multiple of the L2's set period) thrashed the cache: 32x64x32x32 took 4-8 ms vs ~2.3. Sums
accumulate in float64 whatever the input dtype.

Threads. Every kernel works on a range of channels ``[c0, c1)``; from ``_par``'s
``"memory_bound"`` size on, the channels are split in halves that run side by side on
``_threads`` threads (serial ``nogil`` kernels). Each channel's sums are taken in the same order
either way, so the results do not depend on the split. That replaced Numba ``parallel=True``
twins, whose workqueue wake-up cost more than the second thread saved (measured on a 2-core
VM, fwd / bwd us, serial -> workqueue -> channel halves on ``_threads``: 32x64x32x32
1004/1669 -> 814/1828 -> 654/939; 64x64x16x16 604/899 -> 540/979 -> 431/587; 128x64x32x32
8572/12604 -> 8079/11269 -> 3164/4573; below ~1M elements the hand-off costs more than it saves:
32x16x32x32 forward 274 -> 300).
"""
from __future__ import annotations

import numpy as np

from . import _par, _threads
from ._par import nb  # Numba, imported at the first kernel call

_FLAGS = dict(cache=True, nogil=True, fastmath={"reassoc", "contract"})
#: Batch norm is memory-bound: one pass per sweep (see _par.WORK_SCALE).
_KIND = "memory_bound"


@nb.njit(**_FLAGS)
def _bn_train_fwd(x, w, b, eps, out, mean, invstd, var, c0, c1):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    m = n_ * l_
    for c in range(c0, c1):
        s = 0.0
        for n in range(n_):
            for k in range(l_):
                s += x[n, c, k]
        mu = s / m
        q = 0.0
        for n in range(n_):
            for k in range(l_):
                d = x[n, c, k] - mu
                q += d * d
        v = q / m
        istd = 1.0 / np.sqrt(v + eps)
        mean[c], var[c], invstd[c] = mu, v, istd
        scale = w[c] * istd
        shift = b[c] - mu * scale
        for n in range(n_):
            for k in range(l_):
                out[n, c, k] = x[n, c, k] * scale + shift


@nb.njit(**_FLAGS)
def _bn_affine(x, scale, shift, out, c0, c1):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    for n in range(n_):
        for c in range(c0, c1):
            a, b = scale[c], shift[c]
            for k in range(l_):
                out[n, c, k] = x[n, c, k] * a + b


@nb.njit(**_FLAGS)
def _bn_bwd(gy, x, w, mean, invstd, training, gx, gw, gb, c0, c1):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    m = n_ * l_
    sgs = np.zeros(c_)  # float64 sums per channel
    sgxs = np.zeros(c_)
    for n in range(n_):
        for c in range(c0, c1):
            mu = mean[c]
            sg = 0.0
            sgx = 0.0
            for k in range(l_):
                g = gy[n, c, k]
                sg += g
                sgx += g * (x[n, c, k] - mu)
            sgs[c] += sg
            sgxs[c] += sgx
    k0s = np.empty(c_)
    av = np.empty(c_)
    bv = np.empty(c_)
    for c in range(c0, c1):
        istd = invstd[c]
        gb[c] = sgs[c]
        gw[c] = sgxs[c] * istd
        k0s[c] = w[c] * istd
        av[c] = sgs[c] / m
        bv[c] = sgxs[c] * istd * istd / m
    if training:
        for n in range(n_):
            for c in range(c0, c1):
                k0, a, bb, mu = k0s[c], av[c], bv[c], mean[c]
                for k in range(l_):
                    gx[n, c, k] = k0 * (gy[n, c, k] - a - (x[n, c, k] - mu) * bb)
    else:  # fixed statistics: gx = k0 * g; never touch x (an inf input must not give 0 * inf)
        for n in range(n_):
            for c in range(c0, c1):
                k0 = k0s[c]
                for k in range(l_):
                    gx[n, c, k] = k0 * gy[n, c, k]


def _by_channels(kernel, x3, *args):
    """``kernel(*args, c0, c1)`` over all channels of the ``(N, C, L)`` array ``x3``: at once, or
    as two (or, with more threads, more) contiguous channel ranges side by side on ``_threads``
    once ``x3`` reaches the ``"memory_bound"`` size."""
    c = x3.shape[1]
    workers = _threads.workers(c) if _par.parallel_worth(x3.size, _KIND) else 1
    bounds = [c * i // workers for i in range(workers + 1)]
    _threads.run(lambda worker, i: kernel(*args, bounds[i], bounds[i + 1]), workers, workers)


def _as3d(a, dtype=None):
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    if a.ndim < 2:
        raise ValueError(f"batch_norm: expected (N, C) or (N, C, *) input, got {a.shape}")
    return a, a.reshape(a.shape[0], a.shape[1], -1)


def _channel_vector(a, c, dtype, name):
    """``a`` as a contiguous ``(C,)`` array of ``dtype``; ValueError naming ``name`` otherwise."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.size != c:
        raise ValueError(f"batch_norm: {name} has shape {tuple(a.shape)}, expected ({c},) for {c} channels")
    return a.reshape(c)


def _params(weight, bias, c, dtype):
    w = np.ones(c, dtype) if weight is None else _channel_vector(weight, c, dtype, "weight")
    b = np.zeros(c, dtype) if bias is None else _channel_vector(bias, c, dtype, "bias")
    return w, b


def batchnorm_forward(x, weight=None, bias=None, eps=1e-5, running_mean=None, running_var=None,
                      training=True):
    """``out = (x - mean[c]) * invstd[c] * weight[c] + bias[c]``, ``invstd = 1 / sqrt(var + eps)``.

    Training (``training=True``): ``mean`` and the biased ``var = mean((x - mean)^2)`` are taken per
    channel over N and all spatial positions. Otherwise ``running_mean``/``running_var`` are used.
    Returns ``(out, mean, invstd, var)``: ``mean``/``invstd`` are what :func:`batchnorm_backward`
    needs; ``var`` is the biased batch variance (unbiased = ``var * M / (M - 1)``, ``M = N*L``) for
    the caller's running-stat update. ``weight``/``bias`` None mean 1 and 0. Keeps x's dtype.
    """
    x, x3 = _as3d(x)
    c = x3.shape[1]
    w, b = _params(weight, bias, c, x.dtype)
    out = np.empty_like(x)
    if training:
        mean, invstd, var = (np.empty(c, x.dtype) for _ in range(3))
        _by_channels(_bn_train_fwd, x3, x3, w, b, float(eps), out.reshape(x3.shape), mean, invstd, var)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: training=False needs running_mean and running_var")
        mean = _channel_vector(running_mean, c, x.dtype, "running_mean")
        var = _channel_vector(running_var, c, x.dtype, "running_var")
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        scale = w * invstd
        _by_channels(_bn_affine, x3, x3, scale, (b - mean * scale).astype(x.dtype), out.reshape(x3.shape))
    return out, mean, invstd, var


def batchnorm_backward(grad_out, x, weight, mean, invstd, training=True):
    """Gradients of :func:`batchnorm_forward`: ``(grad_input, grad_weight, grad_bias)``.

    With ``xhat = (x - mean) * invstd`` and sums over the ``M = N*L`` values of a channel:
    ``grad_bias = sum(g)``, ``grad_weight = sum(g * xhat)``, and in training
    ``grad_input = weight * invstd * (g - sum(g)/M - xhat * sum(g * xhat)/M)``;
    with fixed (running) statistics ``grad_input = weight * invstd * g``.
    """
    x, x3 = _as3d(x)
    c = x3.shape[1]
    w, _ = _params(weight, None, c, x.dtype)
    gy = np.ascontiguousarray(grad_out, dtype=x.dtype)
    if gy.shape != x.shape:
        raise ValueError(f"batch_norm: grad_out has shape {tuple(gy.shape)}, expected the input's {tuple(x.shape)}")
    mean, invstd = _channel_vector(mean, c, x.dtype, "mean"), _channel_vector(invstd, c, x.dtype, "invstd")
    gx = np.empty_like(x)
    gw, gb = np.empty(c, x.dtype), np.empty(c, x.dtype)
    _by_channels(_bn_bwd, x3, gy.reshape(x3.shape), x3, w, mean, invstd, bool(training), gx.reshape(x3.shape), gw, gb)
    return gx, gw, gb


# ----------------------------------------------------------------------------- reference twins
def batchnorm_forward_reference(x, weight=None, bias=None, eps=1e-5, running_mean=None,
                                running_var=None, training=True):
    """Plain-NumPy twin of :func:`batchnorm_forward`."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = np.asarray(running_mean, x.dtype), np.asarray(running_var, x.dtype)
    invstd = 1.0 / np.sqrt(var + eps)
    out = (x - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.astype(x.dtype), mean, invstd, var


def batchnorm_backward_reference(grad_out, x, weight, mean, invstd, training=True):
    """Plain-NumPy twin of :func:`batchnorm_backward`."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    m = x.size // x.shape[1]
    w = np.ones(x.shape[1], x.dtype) if weight is None else weight
    xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
    gb = grad_out.sum(axis=axes)
    gw = (grad_out * xhat).sum(axis=axes)
    g = grad_out
    if training:
        g = grad_out - gb.reshape(shape) / m - xhat * gw.reshape(shape) / m
    return g * (w * invstd).reshape(shape), gw, gb
