"""Fused optimizer update kernels (Numba) and their plain-NumPy reference twins.

One kernel call updates *all* tensors of a parameter group (of one dtype): the tensors are passed
as a table of data addresses (``addr[t, k]``: tensor ``t``, slot ``k`` = param, grad, state...),
and ``prange`` runs over fixed-size chunks of every tensor, so a single 10M tensor and a hundred
100k tensors both use all cores in one parallel region.  (Measured: building ``numba.typed.List``
costs the same per step but adds ~0.5 s of compilation per process; a Python loop of one call
per tensor is ~15 % slower on 100 tensors.)

Every public ``*_update`` function updates the arrays in place and takes ``backend="numba"``
(the kernel) or ``backend="numpy"`` (the reference twin, written with whole-array NumPy ops).
All arrays of one call must share one dtype; the kernel handles C-contiguous float32/float64
(anything else silently uses the NumPy twin).  Scalars are cast to the array dtype first, so
float32 updates compute in float32 like PyTorch's fused kernels.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from ._par import LAUNCH_LOCK

CHUNK = 1 << 16          # elements per parallel work item
SERIAL_BELOW = 1 << 15   # groups with fewer elements run on one thread
_FASTMATH = {"reassoc", "contract"}   # never fastmath=True (NaN/Inf must propagate)


# ----------------------------------------------------------------------------------------------
# kernels (njit compiles lazily on first call: importing this module compiles nothing)

@intrinsic
def _ptr(typingctx, addr, like):
    """Reinterpret an int64 address as a pointer to ``like``'s dtype."""
    sig = types.CPointer(like.dtype)(types.int64, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(like.dtype)))
    return sig, codegen


@njit(inline="always")
def _view(addr, t, k, sizes, lo, hi, like):
    return numba.carray(_ptr(addr[t, k], like), sizes[t])[lo:hi]


@njit(inline="always")
def _chunk(c, cum, sizes):
    t = np.searchsorted(cum, c, side="right") - 1
    lo = (c - cum[t]) * CHUNK
    return t, lo, min(sizes[t], lo + CHUNK)


jit = njit(parallel=True, cache=True, fastmath=_FASTMATH)


@jit
def sgd(addr, sizes, cum, like, coef, sc, fl):
    # slots: p, g, buf | coef: first | sc: lr, momentum, 1-dampening, wd | fl: mom, nesterov, maximize
    lr, mom, omd, wd = sc[0], sc[1], sc[2], sc[3]
    has_mom, nesterov, maximize = fl[0] != 0, fl[1] != 0, fl[2] != 0
    for c in prange(cum[-1]):
        t, lo, hi = _chunk(c, cum, sizes)
        p = _view(addr, t, 0, sizes, lo, hi, like)
        g = _view(addr, t, 1, sizes, lo, hi, like)
        b = _view(addr, t, 2, sizes, lo, hi, like)
        first = coef[t, 0] != 0
        for i in range(p.shape[0]):
            gi = -g[i] if maximize else g[i]
            if wd != 0:
                gi = gi + wd * p[i]
            if has_mom:
                bi = gi if first else mom * b[i] + omd * gi
                b[i] = bi
                gi = gi + mom * bi if nesterov else bi
            p[i] = p[i] - lr * gi


@jit
def adagrad(addr, sizes, cum, like, coef, sc, fl):
    # slots: p, g, sum | coef: clr | sc: wd, eps | fl: maximize
    wd, eps = sc[0], sc[1]
    maximize = fl[0] != 0
    for c in prange(cum[-1]):
        t, lo, hi = _chunk(c, cum, sizes)
        p = _view(addr, t, 0, sizes, lo, hi, like)
        g = _view(addr, t, 1, sizes, lo, hi, like)
        s = _view(addr, t, 2, sizes, lo, hi, like)
        clr = coef[t, 0]
        for i in range(p.shape[0]):
            gi = -g[i] if maximize else g[i]
            if wd != 0:
                gi = gi + wd * p[i]
            si = s[i] + gi * gi
            s[i] = si
            p[i] = p[i] - clr * (gi / (np.sqrt(si) + eps))


@jit
def rmsprop(addr, sizes, cum, like, coef, sc, fl):
    # slots: p, g, square_avg, grad_avg, momentum_buffer | sc: lr, alpha, 1-alpha, eps, wd, momentum
    # fl: centered, has_momentum, maximize
    lr, alpha, oma, eps, wd, mom = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    centered, has_mom, maximize = fl[0] != 0, fl[1] != 0, fl[2] != 0
    for c in prange(cum[-1]):
        t, lo, hi = _chunk(c, cum, sizes)
        p = _view(addr, t, 0, sizes, lo, hi, like)
        g = _view(addr, t, 1, sizes, lo, hi, like)
        sq = _view(addr, t, 2, sizes, lo, hi, like)
        ga = _view(addr, t, 3, sizes, lo, hi, like)
        b = _view(addr, t, 4, sizes, lo, hi, like)
        for i in range(p.shape[0]):
            gi = -g[i] if maximize else g[i]
            if wd != 0:
                gi = gi + wd * p[i]
            si = alpha * sq[i] + oma * (gi * gi)
            sq[i] = si
            if centered:
                gai = ga[i] + oma * (gi - ga[i])
                ga[i] = gai
                avg = np.sqrt(si - gai * gai) + eps
            else:
                avg = np.sqrt(si) + eps
            if has_mom:
                bi = mom * b[i] + gi / avg
                b[i] = bi
                p[i] = p[i] - lr * bi
            else:
                p[i] = p[i] - lr * (gi / avg)


@jit
def adam(addr, sizes, cum, like, coef, sc, fl):
    # slots: p, g, exp_avg, exp_avg_sq, max_exp_avg_sq | coef: step_size, sqrt(bias_correction2)
    # sc: 1-beta1, beta2, 1-beta2, eps, wd (coupled), decay (decoupled: 1 - lr*wd) | fl: amsgrad, maximize
    omb1, b2, omb2, eps, wd, decay = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    amsgrad, maximize = fl[0] != 0, fl[1] != 0
    for c in prange(cum[-1]):
        t, lo, hi = _chunk(c, cum, sizes)
        p = _view(addr, t, 0, sizes, lo, hi, like)
        g = _view(addr, t, 1, sizes, lo, hi, like)
        m = _view(addr, t, 2, sizes, lo, hi, like)
        v = _view(addr, t, 3, sizes, lo, hi, like)
        vmax = _view(addr, t, 4, sizes, lo, hi, like)
        ss, bc2s = coef[t, 0], coef[t, 1]
        for i in range(p.shape[0]):
            pi = p[i] * decay
            gi = -g[i] if maximize else g[i]
            if wd != 0:
                gi = gi + wd * pi
            mi = m[i] + omb1 * (gi - m[i])
            vi = b2 * v[i] + omb2 * (gi * gi)
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vi = np.maximum(vmax[i], vi)
                vmax[i] = vi
            p[i] = pi - ss * (mi / (np.sqrt(vi) / bc2s + eps))


@jit
def nadam(addr, sizes, cum, like, coef, sc, fl):
    # slots: p, g, exp_avg, exp_avg_sq | coef: c_grad, c_avg, bias_correction2
    # sc: 1-beta1, beta2, 1-beta2, eps, wd (coupled), decay | fl: maximize
    omb1, b2, omb2, eps, wd, decay = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    maximize = fl[0] != 0
    for c in prange(cum[-1]):
        t, lo, hi = _chunk(c, cum, sizes)
        p = _view(addr, t, 0, sizes, lo, hi, like)
        g = _view(addr, t, 1, sizes, lo, hi, like)
        m = _view(addr, t, 2, sizes, lo, hi, like)
        v = _view(addr, t, 3, sizes, lo, hi, like)
        cg, ca, bc2 = coef[t, 0], coef[t, 1], coef[t, 2]
        for i in range(p.shape[0]):
            pi = p[i] * decay
            gi = -g[i] if maximize else g[i]
            if wd != 0:
                gi = gi + wd * pi
            mi = m[i] + omb1 * (gi - m[i])
            vi = b2 * v[i] + omb2 * (gi * gi)
            m[i] = mi
            v[i] = vi
            den = np.sqrt(vi / bc2) + eps
            p[i] = (pi + cg * (gi / den)) + ca * (mi / den)


_KERNELS = dict(sgd=sgd, adagrad=adagrad, rmsprop=rmsprop, adam=adam, nadam=nadam)


# ----------------------------------------------------------------------------------------------
# launching: address tables (cached for the arrays that do not change between steps)

class Plan:
    """Address table of one group's stable arrays (params and state); only grads change per step.

    Optimizers keep one ``Plan`` per (group, dtype) in a dict passed as ``cache=``; it is rebuilt
    whenever any stable array is a different object than last time.
    """

    def __init__(self, stable):
        self.stable = [list(col) for col in stable]
        T = len(self.stable[0])
        self.addr = np.zeros((T, len(self.stable) + 1), np.int64)
        for k, col in enumerate(self.stable):
            kk = k if k == 0 else k + 1          # column 1 is the gradient
            for t, a in enumerate(col):
                self.addr[t, kk] = a.ctypes.data
        self.sizes = np.array([a.size for a in self.stable[0]], np.int64)
        nchunks = np.maximum(1, (self.sizes + CHUNK - 1) // CHUNK)
        self.cum = np.concatenate([[0], np.cumsum(nchunks)]).astype(np.int64)
        self.total = int(self.sizes.sum())

    def matches(self, stable):
        return len(stable) == len(self.stable) and all(
            len(a) == len(b) and all(x is y for x, y in zip(a, b)) for a, b in zip(stable, self.stable))


def _fits_kernel(arrays, dtype):
    return dtype in (np.float32, np.float64) and all(
        a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable for a in arrays)


def _launch(name, stable, grads, coef, sc, fl, cache, reference, backend):
    """Run kernel ``name`` (or ``reference``); ``stable`` = [params, *state slots] (equal-length lists)."""
    if backend not in ("numba", "numpy"):
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    if not stable[0]:
        return
    like = stable[0][0]
    dt = like.dtype
    plan = cache.get(name) if cache is not None else None
    if backend == "numpy" or plan is None or not plan.matches(stable):
        if backend == "numpy" or not _fits_kernel([a for col in stable for a in col], dt):
            return reference()
        plan = Plan(stable)
        if cache is not None:
            cache[name] = plan
    keep = []
    for t, (p, g) in enumerate(zip(stable[0], grads)):
        if g.size != p.size:
            raise RuntimeError(f"gradient of shape {tuple(g.shape)} does not match parameter of shape {tuple(p.shape)}")
        if g.dtype != dt or not g.flags.c_contiguous:
            g = np.ascontiguousarray(g, dtype=dt)
            keep.append(g)
        plan.addr[t, 1] = g.ctypes.data
    args = (plan.addr, plan.sizes, plan.cum, like.reshape(-1)[:1],
            np.ascontiguousarray(coef, dtype=dt), np.asarray(sc, dtype=dt), np.asarray(fl, np.int64))
    if plan.total < SERIAL_BELOW:        # tiny groups: waking worker threads costs more than it saves
        nthreads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            with LAUNCH_LOCK:
                _KERNELS[name](*args)
        finally:
            numba.set_num_threads(nthreads)
    else:
        with LAUNCH_LOCK:       # concurrent parallel launches abort Numba's workqueue layer
            _KERNELS[name](*args)
    del keep


def _neg(g, maximize):
    return -g if maximize else g


def _adam_moments(p, g, m, v, dt, decay, weight_decay, beta1, beta2, maximize):
    """Reference twin step shared by Adam/AdamW and NAdam, in place: w ← decay·w; g ← ±g + λw;
    m ← m + (1−β₁)(g − m); v ← β₂v + (1−β₂)g². Returns g."""
    if decay != 1.0:
        p *= dt.type(decay)
    g = _neg(g.astype(dt, copy=False), maximize)
    g = g + dt.type(weight_decay) * p if weight_decay != 0 else g
    m += dt.type(1 - beta1) * (g - m)
    v *= dt.type(beta2)
    v += dt.type(1 - beta2) * (g * g)
    return g


# ----------------------------------------------------------------------------------------------
# public update functions (kernel + NumPy twin)

def sgd_update(params, grads, bufs, first, *, lr, momentum, dampening, weight_decay, nesterov,
               maximize=False, backend="numba", cache=None):
    """SGD step, in place:  g ← ±g + λw;  b ← g (first step) or μb + (1−τ)g;
    g ← g + μb (nesterov) or b;  w ← w − ηg.  ``bufs`` is ignored when ``momentum == 0``;
    ``first[t]`` marks tensors whose buffer is uninitialised."""
    has_mom = momentum != 0
    dt = params[0].dtype if params else np.float64

    def reference():
        for t, (p, g) in enumerate(zip(params, grads)):
            g = _neg(g.astype(dt, copy=False), maximize)
            g = g + dt.type(weight_decay) * p if weight_decay != 0 else g
            if has_mom:
                b = bufs[t]
                if first[t]:
                    b[...] = g
                else:
                    b *= dt.type(momentum)
                    b += dt.type(1 - dampening) * g
                g = g + dt.type(momentum) * b if nesterov else b
            p -= dt.type(lr) * g

    stable = [params, bufs if has_mom else params]
    _launch("sgd", stable, grads, np.asarray(first, dt).reshape(-1, 1),
              [lr, momentum, 1 - dampening, weight_decay], [has_mom, nesterov, maximize],
              cache, reference, backend)


def adagrad_update(params, grads, sums, clrs, *, weight_decay, eps, maximize=False,
                   backend="numba", cache=None):
    """Adagrad step, in place:  g ← ±g + λw;  s ← s + g²;  w ← w − clr·g/(√s + ε),
    with ``clrs[t] = lr / (1 + (step_t − 1)·lr_decay)``."""
    dt = params[0].dtype if params else np.float64

    def reference():
        for t, (p, g, s) in enumerate(zip(params, grads, sums)):
            g = _neg(g.astype(dt, copy=False), maximize)
            g = g + dt.type(weight_decay) * p if weight_decay != 0 else g
            s += g * g
            p -= dt.type(clrs[t]) * (g / (np.sqrt(s) + dt.type(eps)))

    _launch("adagrad", [params, sums], grads, np.asarray(clrs, dt).reshape(-1, 1),
              [weight_decay, eps], [maximize], cache, reference, backend)


def rmsprop_update(params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize=False, backend="numba", cache=None):
    """RMSprop step, in place:  g ← ±g + λw;  v ← αv + (1−α)g²;  ḡ ← αḡ + (1−α)g (centered);
    a ← √(v − ḡ²) + ε (centered) or √v + ε;  b ← μb + g/a, w ← w − ηb (momentum) or w ← w − ηg/a.
    ``grad_avgs``/``momentum_buffers`` may be None when unused."""
    dt = params[0].dtype if params else np.float64
    has_mom = momentum > 0

    def reference():
        for t, (p, g, v) in enumerate(zip(params, grads, square_avgs)):
            g = _neg(g.astype(dt, copy=False), maximize)
            g = g + dt.type(weight_decay) * p if weight_decay != 0 else g
            v *= dt.type(alpha)
            v += dt.type(1 - alpha) * (g * g)
            if centered:
                ga = grad_avgs[t]
                ga += dt.type(1 - alpha) * (g - ga)
                avg = np.sqrt(v - ga * ga) + dt.type(eps)
            else:
                avg = np.sqrt(v) + dt.type(eps)
            if has_mom:
                b = momentum_buffers[t]
                b *= dt.type(momentum)
                b += g / avg
                p -= dt.type(lr) * b
            else:
                p -= dt.type(lr) * (g / avg)

    stable = [params, square_avgs, grad_avgs if centered else params,
              momentum_buffers if has_mom else params]
    _launch("rmsprop", stable, grads, np.zeros((len(params), 1), dt),
              [lr, alpha, 1 - alpha, eps, weight_decay, momentum], [centered, has_mom, maximize],
              cache, reference, backend)


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step_sizes, bc2_sqrts, *,
                beta1, beta2, eps, weight_decay=0.0, decay=1.0, amsgrad=False, maximize=False,
                backend="numba", cache=None):
    """Adam/AdamW step, in place:  w ← decay·w (AdamW: decay = 1 − ηλ);  g ← ±g + λw (Adam);
    m ← m + (1−β₁)(g − m);  v ← β₂v + (1−β₂)g²;  v̂ ← max(v̂, v) (amsgrad, else v̂ = v);
    w ← w − step_size·m/(√v̂ / √(1−β₂ᵗ) + ε),  with ``step_sizes[t] = η/(1−β₁ᵗ)`` and
    ``bc2_sqrts[t] = √(1−β₂ᵗ)``."""
    dt = params[0].dtype if params else np.float64

    def reference():
        for t, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
            g = _adam_moments(p, g, m, v, dt, decay, weight_decay, beta1, beta2, maximize)
            if amsgrad:
                vmax = max_exp_avg_sqs[t]
                vmax[...] = np.maximum(vmax, v)
                v = vmax
            p -= dt.type(step_sizes[t]) * (m / (np.sqrt(v) / dt.type(bc2_sqrts[t]) + dt.type(eps)))

    stable = [params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs if amsgrad else params]
    _launch("adam", stable, grads, np.stack([np.asarray(step_sizes), np.asarray(bc2_sqrts)], 1),
              [1 - beta1, beta2, 1 - beta2, eps, weight_decay, decay], [amsgrad, maximize],
              cache, reference, backend)


def nadam_update(params, grads, exp_avgs, exp_avg_sqs, c_grads, c_avgs, bias_corrections2, *,
                 beta1, beta2, eps, weight_decay=0.0, decay=1.0, maximize=False,
                 backend="numba", cache=None):
    """NAdam step, in place:  w ← decay·w;  g ← ±g + λw;  m ← m + (1−β₁)(g − m);  v ← β₂v + (1−β₂)g²;
    d ← √(v/(1−β₂ᵗ)) + ε;  w ← w + c_grad·g/d + c_avg·m/d,  with
    ``c_grad = −η(1−μₜ)/(1−Πμ)`` and ``c_avg = −ημₜ₊₁/(1−Πμ·μₜ₊₁)`` per tensor."""
    dt = params[0].dtype if params else np.float64

    def reference():
        for t, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
            g = _adam_moments(p, g, m, v, dt, decay, weight_decay, beta1, beta2, maximize)
            den = np.sqrt(v / dt.type(bias_corrections2[t])) + dt.type(eps)
            p += dt.type(c_grads[t]) * (g / den)
            p += dt.type(c_avgs[t]) * (m / den)

    coef = np.stack([np.asarray(c_grads), np.asarray(c_avgs), np.asarray(bias_corrections2)], 1)
    _launch("nadam", [params, exp_avgs, exp_avg_sqs], grads, coef,
              [1 - beta1, beta2, 1 - beta2, eps, weight_decay, decay], [maximize],
              cache, reference, backend)


def _reference_twin(fn):
    def twin(*args, **kwargs):
        kwargs["backend"] = "numpy"
        return fn(*args, **kwargs)
    twin.__name__ = fn.__name__ + "_reference"
    twin.__doc__ = f"NumPy reference twin of ``{fn.__name__}`` (same arguments, whole-array ops)."
    return twin


sgd_update_reference = _reference_twin(sgd_update)
adagrad_update_reference = _reference_twin(adagrad_update)
rmsprop_update_reference = _reference_twin(rmsprop_update)
adam_update_reference = _reference_twin(adam_update)
nadam_update_reference = _reference_twin(nadam_update)
