"""Fused batch normalization over ``(N, C)`` or ``(N, C, *)`` ndarrays (statistics per channel C).

The input is viewed as ``(N, C, L)``; one Numba task per channel computes mean, biased variance
(two sweeps over the channel's ``N*L`` values, which stay in cache), then normalizes and applies
the affine map. The backward sweeps in memory order instead: one reduction sweep with float64
partial sums per (block of ``nblk`` samples, channel), then one output sweep. Channel by channel,
its two sweeps over ``gy`` and ``x`` (a channel's N rows lie ``C*L`` floats apart, 256 KiB for
64x32x32, a multiple of the L2's set period) thrashed the cache: 32x64x32x32 took 4-8 ms vs ~2.3.
Sums accumulate in float64 whatever the input dtype.
"""
from __future__ import annotations

import numpy as np

from . import _par
from ._par import nb  # Numba, imported at the first kernel call

_FLAGS = dict(fastmath={"reassoc", "contract"})  # + cache=True, parallel twin: see _par
#: Batch norm is memory-bound: one pass per sweep (see _par.WORK_SCALE).
_KIND = "memory_bound"


def _bn_train_fwd(x, w, b, eps, out, mean, invstd, var):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    m = n_ * l_
    for c in nb.prange(c_):
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


_bn_train_fwd = _par.twins(_bn_train_fwd, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def _bn_affine(x, scale, shift, out):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    for c in nb.prange(c_):
        a, b = scale[c], shift[c]
        for n in range(n_):
            for k in range(l_):
                out[n, c, k] = x[n, c, k] * a + b


_bn_affine = _par.twins(_bn_affine, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


def _bn_bwd(gy, x, w, mean, invstd, training, gx, gw, gb, nblk):  # pragma: no mutate block
    n_, c_, l_ = x.shape
    m = n_ * l_
    psg = np.zeros((nblk, c_))  # float64 partial sums per block of samples
    psgx = np.zeros((nblk, c_))
    for blk in nb.prange(nblk):
        for n in range(blk, n_, nblk):
            for c in range(c_):
                mu = mean[c]
                sg = 0.0
                sgx = 0.0
                for k in range(l_):
                    g = gy[n, c, k]
                    sg += g
                    sgx += g * (x[n, c, k] - mu)
                psg[blk, c] += sg
                psgx[blk, c] += sgx
    sgs = psg.sum(axis=0)
    sgxs = psgx.sum(axis=0)
    k0s = np.empty(c_)
    av = np.empty(c_)
    bv = np.empty(c_)
    for c in range(c_):
        istd = invstd[c]
        gb[c] = sgs[c]
        gw[c] = sgxs[c] * istd
        k0s[c] = w[c] * istd
        av[c] = sgs[c] / m
        bv[c] = sgxs[c] * istd * istd / m
    if training:
        for n in nb.prange(n_):
            for c in range(c_):
                k0, a, bb, mu = k0s[c], av[c], bv[c], mean[c]
                for k in range(l_):
                    gx[n, c, k] = k0 * (gy[n, c, k] - a - (x[n, c, k] - mu) * bb)
    else:  # fixed statistics: gx = k0 * g; never touch x (an inf input must not give 0 * inf)
        for n in nb.prange(n_):
            for c in range(c_):
                k0 = k0s[c]
                for k in range(l_):
                    gx[n, c, k] = k0 * gy[n, c, k]


_bn_bwd = _par.twins(_bn_bwd, **_FLAGS)  # (parallel, serial); _par.pick chooses per call


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
        _par.pick(_bn_train_fwd, x3.size, _KIND)(x3, w, b, float(eps), out.reshape(x3.shape), mean, invstd, var)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: training=False needs running_mean and running_var")
        mean = _channel_vector(running_mean, c, x.dtype, "running_mean")
        var = _channel_vector(running_var, c, x.dtype, "running_var")
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        scale = w * invstd
        _par.pick(_bn_affine, x3.size, _KIND)(x3, scale, (b - mean * scale).astype(x.dtype), out.reshape(x3.shape))
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
    kernel = _par.pick(_bn_bwd, x3.size, _KIND)
    blocks = min(x3.shape[0], nb.get_num_threads()) if isinstance(kernel, _par.Locked) else 1
    kernel(gy.reshape(x3.shape), x3, w, mean, invstd, bool(training), gx.reshape(x3.shape), gw, gb, blocks)
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
