"""``DistributedDataParallel``: one model replica per rank, gradients averaged over the ranks
during backward (bucketed all-reduces overlapped with the backward walk, see ``reducer``)."""
from __future__ import annotations

import contextlib

from engine import Tensor, is_grad_enabled
from engine import distributed as dist

from ..module import Module
from .reducer import Reducer


def _outputs(obj, out):
    """Every Tensor in a (nested) forward result."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _outputs(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _outputs(o, out)
    return out


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of ``engine.distributed`` (launch with ``mpiexec -n N``).

    At construction the parameters and buffers of ``module`` are broadcast from rank 0 (every
    replica starts identical). With ``broadcast_buffers`` a forward first broadcasts rank 0's
    buffers when the forward before it synchronised gradients (PyTorch's rule). During
    ``backward()`` the gradient of every parameter is averaged over the ranks,
    g ← (1/N) Σ_r g_r, in buckets of about ``bucket_cap_mb`` MB whose all-reduce starts as
    soon as the bucket's gradients are final; the averages are in ``.grad`` when
    ``backward()`` returns. ``no_sync()`` skips the averaging (gradient accumulation: the
    next synchronised backward averages the accumulated sums). ``find_unused_parameters=True``
    walks the graph after each forward so that parameters it did not use do not stall the
    reduction. ``.module`` is the wrapped model; state_dict keys carry PyTorch's ``module.``
    prefix. CPU only: ``device_ids``/``output_device`` must be None."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        if device_ids is not None and list(device_ids) not in ([], ["cpu"]):
            raise ValueError(f"DistributedDataParallel: device_ids={device_ids!r}: for a CPU module "
                             f"device_ids must be None")
        if output_device is not None and str(output_device) != "cpu":
            raise ValueError(f"DistributedDataParallel: output_device={output_device!r}: must be None (CPU)")
        if process_group is not None or device_mesh is not None:
            raise ValueError("DistributedDataParallel: only the default process group exists "
                             "(process_group and device_mesh must be None)")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim={dim}: only dim=0 is supported")
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: default process group has not been "
                             "initialized, please call engine.distributed.init_process_group() first")
        self.module = module
        self.__dict__.update(broadcast_buffers=bool(broadcast_buffers), dim=dim,
                             find_unused_parameters=bool(find_unused_parameters),
                             bucket_bytes_cap=int(bucket_cap_mb * 1024 * 1024),
                             gradient_as_bucket_view=gradient_as_bucket_view,
                             static_graph=static_graph, require_backward_grad_sync=True,
                             require_forward_param_sync=True,
                             device_ids=None, output_device=None, process_group=None)
        self._check_same_model()
        self._sync_module_states()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self.__dict__["reducer"] = Reducer([p for _, p in named], self.bucket_bytes_cap, [n for n, _ in named])

    def _check_same_model(self):
        """Every rank must wrap the same architecture (names, shapes, dtypes), else the
        bucketed all-reduces would mix unrelated gradients."""
        sig = [[k, list(v.shape), str(v.dtype)] for k, v in self.module.state_dict(keep_vars=True).items()]
        sigs = [None] * dist.get_world_size()
        dist.all_gather_object(sigs, sig)
        for r, other in enumerate(sigs):
            if other != sig:
                mine = {k: (s, d) for k, s, d in sig}
                theirs = {k: (s, d) for k, s, d in other}
                diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                raise RuntimeError(f"DistributedDataParallel: rank {dist.get_rank()} and rank {r} wrap "
                                   f"different models; differing entries: {diff[:10]}")

    def _sync_module_states(self, buffers_only=False):
        """Broadcast rank 0's parameters (unless ``buffers_only``) and buffers to every rank."""
        works = []
        for name, t in self.module.state_dict(keep_vars=True).items():
            if buffers_only and name in self._param_names():
                continue
            works.append(dist.broadcast(t, 0, async_op=True))
        for w in works:
            w.wait()

    def _param_names(self):
        names = self.__dict__.get("_param_name_cache")
        if names is None:
            names = self.__dict__["_param_name_cache"] = {k for k, _ in self.module.named_parameters()}
        return names

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        """``module(*inputs, **kwargs)``, arming the gradient averaging of the next backward.

        Buffers as PyTorch's ``broadcast_buffers=True``: rank 0's buffers are broadcast first
        when the previous forward was one that synchronises gradients (grad enabled, outside
        ``no_sync``; also the first forward), whatever the train/eval mode of this one."""
        if (self.broadcast_buffers and self.require_forward_param_sync
                and dist.get_world_size() > 1 and any(True for _ in self.module.buffers())):
            self._sync_module_states(buffers_only=True)
        out = self.module(*inputs, **kwargs)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.__dict__["require_forward_param_sync"] = sync
        if sync:
            outs = [t for t in _outputs(out, []) if t.requires_grad]
            unused = self._unused_parameters(outs) if self.find_unused_parameters else ()
            self.reducer.prepare(unused)
            for t in outs:
                if t.grad_fn is not None:
                    t.register_hook(self.reducer.backward_begins)
        return out

    def _unused_parameters(self, outs):
        """Parameters the forward's graph does not reach (they will get no gradient)."""
        from engine import graph

        reached = set()
        if outs:
            for node in graph.walk(outs):
                if node.kind == "leaf" and node.value is not None:
                    reached.add(id(node.value))
        return [p for p in self.reducer.params if id(p) not in reached]

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates local gradients only (no communication); the first
        synchronised backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.__dict__["require_backward_grad_sync"] = False
        try:
            yield
        finally:
            self.__dict__["require_backward_grad_sync"] = old

    # -- figures for bench/ ------------------------------------------------------------------------
    @property
    def comm_stats(self):
        """Per synchronised iteration (last 100): bytes all-reduced, buckets, backward seconds,
        seconds of backward with an all-reduce in flight, and the wait after backward."""
        return list(self.reducer.stats)

    def extra_repr(self):
        return (f"world_size={dist.get_world_size() if dist.is_initialized() else '?'}, "
                f"buckets={len(self.reducer.buckets)}, bucket_cap_mb={self.bucket_bytes_cap / 2**20:g}")

    def __del__(self):
        reducer = self.__dict__.get("reducer")
        if reducer is not None:
            reducer.remove_hooks()

