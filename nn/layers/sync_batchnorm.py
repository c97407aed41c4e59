"""``SyncBatchNorm``: batch normalization whose batch statistics, and the two reductions of its
backward, are taken over the union of every rank's batch (``engine.distributed``), so N ranks
of batch B normalize exactly like one process with batch N·B."""
from __future__ import annotations

import numpy as np

from engine import Function, Tensor, no_grad
from engine import distributed as dist

from .. import functional as F
from ..functional.normalization import _affine
from .normalization import _NormBase

__all__ = ["SyncBatchNorm"]


def _all_sum(arr):
    """Σ over ranks of ``arr`` (a float ndarray, in place)."""
    dist.all_reduce(arr, op=dist.ReduceOp.SUM)
    return arr


class SyncBatchNormFunction(Function):
    """y = x̂ · γ + β, x̂ = (x − μ_c) · r_c, r_c = 1/√(σ²_c + eps), with μ_c, σ²_c the mean and
    biased variance of channel c over all ranks' (N, *) positions (two all-reduces: Σx and n,
    then Σ(x − μ)², exact as a single process).  Backward, with ĝ = g · γ and n the global count:

        dx = r · (ĝ − (1/n)·Σ_all ĝ − x̂ · (1/n)·Σ_all ĝ·x̂)     (one all-reduce of both sums)
        dγ = Σ_local g · x̂,   dβ = Σ_local g                    (per rank; DDP averages them)

    Also returns μ, σ²_biased (per channel) and n (a 0-d int64) as outputs without gradient
    (``mark_non_differentiable``), for the running statistics."""

    raw = True
    twice_differentiable = False

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        wshape = (1, c) + (1,) * (x.ndim - 2)
        acc = np.result_type(x.dtype, np.float32)
        head = np.empty(c + 1, dtype=np.float64 if acc == np.float64 else acc)
        head[:c] = x.sum(axis=axes, dtype=head.dtype)
        head[c] = x.size // c
        _all_sum(head)
        n = int(round(float(head[c])))
        mean = (head[:c] / n).astype(x.dtype, copy=False)
        xc = x - mean.reshape(wshape)
        sq = np.square(xc).sum(axis=axes, dtype=head.dtype)
        _all_sum(sq)
        var = (sq / n).astype(x.dtype, copy=False)
        r = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = xc * r.reshape(wshape)
        y = _affine(xhat, weight, bias, wshape)
        ctx.meta = (axes, wshape, n)
        ctx.save_for_backward(xhat, r, weight)
        count = np.asarray(n, dtype=np.int64)
        ctx.mark_non_differentiable(mean, var, count)
        return y, mean, var, count

    @staticmethod
    def backward(ctx, g, *_):  # no gradient flows from the returned statistics
        axes, wshape, n = ctx.meta
        xhat, r, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = gw = gb = None
        if need[0]:
            gh = g * weight.reshape(wshape) if weight is not None else g
            c = xhat.shape[1]
            sums = np.empty(2 * c, dtype=np.result_type(g.dtype, np.float32))
            sums[:c] = gh.sum(axis=axes)
            sums[c:] = (gh * xhat).sum(axis=axes)
            _all_sum(sums)
            m1 = (sums[:c] / n).astype(g.dtype, copy=False).reshape(wshape)
            m2 = (sums[c:] / n).astype(g.dtype, copy=False).reshape(wshape)
            gx = r.reshape(wshape) * (gh - m1 - xhat * m2)
        if need[1] and weight is not None:
            gw = (g * xhat).sum(axis=axes).astype(weight.dtype, copy=False)
        if need[2]:
            gb = g.sum(axis=axes).astype(g.dtype, copy=False)
        return gx, gw, gb, None


class SyncBatchNorm(_NormBase):
    """Batch normalization of ``(N, C, *)`` input with statistics over every rank's batch:

        y = (x − μ_c) / √(σ²_c + eps) · γ_c + β_c,   μ_c, σ²_c over all ranks' (N, *) values

    Training with an initialized process group of more than one rank: μ, σ² (biased) are
    global, ``running ← (1 − momentum)·running + momentum·batch`` uses the global unbiased
    variance (identical buffers on every rank), and the backward reduces Σĝ and Σĝ·x̂ over the
    ranks. Otherwise (eval, one rank, no group) it is ``BatchNorm`` exactly. Arguments and
    defaults are PyTorch's; ``process_group`` must be None (the default group)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        if process_group is not None:
            raise ValueError("SyncBatchNorm: process_group must be None (the default group is the "
                             "only group of the mpi backend)")
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"SyncBatchNorm: device {device!r} is not available in this build (cpu only)")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self.process_group = None

    def forward(self, input):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"SyncBatchNorm: input must be a Tensor, got {type(input).__name__}")
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (N, C, *), got input of "
                             f"shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: input {tuple(input.shape)} has {input.shape[1]} "
                             f"channels, expected num_features={self.num_features}")
        factor = self._factor()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        sync = (use_batch and self.training and dist.is_initialized() and dist.get_world_size() > 1)
        if not sync:
            track = not self.training or self.track_running_stats
            return F.batch_norm(input, self.running_mean if track else None,
                                self.running_var if track else None, self.weight, self.bias,
                                use_batch, factor, self.eps)
        out, mean, var, count = SyncBatchNormFunction.apply(input, self.weight, self.bias, float(self.eps))
        n = int(count.item())
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all ranks "
                             f"when training, got input size {tuple(input.shape)} on this rank")
        if self.track_running_stats and self.running_mean is not None:
            with no_grad():
                self.running_mean.mul_(1.0 - factor).add_(mean.numpy() * factor)
                self.running_var.mul_(1.0 - factor).add_(var.numpy() * (n / (n - 1)) * factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Return ``module`` with every BatchNorm*d layer (also ``module`` itself) replaced by a
        SyncBatchNorm holding the same parameters (shared), buffers and train/eval mode."""
        from .normalization import _BatchNorm

        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            new = cls.convert_sync_batchnorm(child, process_group)
            if new is not child:
                out._modules[name] = new
        return out

