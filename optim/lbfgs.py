"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989) with PyTorch's interface, defaults and iteration:
``step(closure)`` runs up to ``max_iter`` quasi-Newton iterations on the flattened parameters,
each direction from the two-loop recursion over the last ``history_size`` curvature pairs, with a
fixed step ``lr`` or a strong-Wolfe line search (``line_search_fn="strong_wolfe"``)."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), clipped to
    ``bounds`` (default: the interval between x1 and x2); its midpoint when the cubic has none
    (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step t along d satisfying the strong Wolfe conditions
    f(t) ≤ f(0) + c1·t·gᵀd and |g(t)ᵀd| ≤ c2·|gᵀd| (bracketing, then zoom by cubic interpolation).

    ``evaluate(t) -> (loss, flat_grad)`` at the parameters moved by t·d. Returns
    ``(loss, flat_grad, t, evaluations)``."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals, it = 1, 0
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    bracket = None
    while it < max_ls:  # phase 1: grow t until an interval brackets an acceptable point
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:  # strong Wolfe holds at t
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:  # the slope turned: a minimum lies between t_prev and t
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        nxt = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                            bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = nxt
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if bracket is None:  # no bracket within max_ls: fall back to [0, t]
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]
    insufficient = False
    low, high = (0, 1) if len(bracket) == 1 or bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and it < max_ls:  # phase 2: zoom into the bracket
        (ta, fa, _, ga), (tb, fb, _, gb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = cubic_minimum(ta, fa, ga, tb, fb, gb)
        top, bottom = max(ta, tb), min(ta, tb)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:  # too close to an end: move inside (or note it)
            if insufficient or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """PyTorch's L-BFGS. ``step(closure)``: ``closure()`` clears the gradients, computes the loss,
    calls ``backward()`` and returns the loss; ``step`` returns the first loss it computed.

    Stops after ``max_iter`` iterations or ``max_eval`` closure calls (default max_iter·5/4), when
    max|grad| ≤ ``tolerance_grad``, or when the step or the loss change falls below
    ``tolerance_change``. One parameter group only (as PyTorch).
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if not lr > 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                               f"{line_search_fn!r}")
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector -------------------------------------------------------
    def _flat_grad(self):
        return np.concatenate([np.zeros(p.numel(), p.dtype) if p.grad is None else
                               p.grad.numpy().reshape(-1) for p in self._params])

    def _add(self, step, direction):
        """w ← w + step · direction (direction flat, split over the parameters in order)."""
        k = 0
        for p in self._params:
            w = p.numpy()
            w += (step * direction[k:k + w.size]).reshape(w.shape).astype(w.dtype, copy=False)
            k += w.size

    def _evaluate(self, closure, x0, t, d):
        """(loss, flat grad) at x0 + t·d; the parameters are restored to x0 afterwards."""
        self._add(t, d)
        loss = float(self._call_closure(closure))
        g = self._flat_grad()
        for p, x in zip(self._params, x0):
            p.numpy()[...] = x
        return loss, g

    def _step_group(self, gi, group):
        raise RuntimeError("LBFGS needs a closure: optimizer.step(closure)")

    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step requires a closure that reevaluates the model and "
                               "returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        st = self.state[self._params[0]]
        st.setdefault("func_evals", 0)
        st.setdefault("n_iter", 0)
        orig_loss = self._call_closure(closure)
        loss = float(orig_loss)
        evals = 1
        st["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max(initial=0.0) <= tol_grad:
            return orig_loss
        d, t = st.get("d"), st.get("t")
        # None before the first iteration (also stored so by a step with max_iter=0), as torch's
        dirs, steps, rho = st.get("old_dirs"), st.get("old_stps"), st.get("ro")
        h_diag = st.get("H_diag")
        g_prev, loss_prev = st.get("prev_flat_grad"), st.get("prev_loss")
        n = 0
        while n < max_iter:
            n += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, dirs, steps, rho, h_diag = -g, [], [], [], 1.0
            else:
                y, s = g - g_prev, d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the curvature pair only when it is positive
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), rho.pop(0)
                    dirs.append(y), steps.append(s), rho.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = _two_loop(-g, dirs, steps, rho, h_diag)
            g_prev, loss_prev = g.copy(), loss
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr if st["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            if group["line_search_fn"] == "strong_wolfe":
                x0 = [p.numpy().copy() for p in self._params]
                # the trials are capped by the evaluations left (max_eval), as torch.optim.LBFGS does
                loss, g, t, ls_evals = strong_wolfe(lambda step: self._evaluate(closure, x0, step, d),
                                                    t, d, loss, g, gtd, max_ls=max_eval - evals)
                self._add(t, d)
            else:
                self._add(t, d)
                ls_evals = 0
                if n != max_iter:  # re-evaluate (the last iteration leaves that to the next step)
                    loss = float(self._call_closure(closure))
                    g = self._flat_grad()
                    ls_evals = 1
            evals += ls_evals
            st["func_evals"] += ls_evals
            if (n == max_iter or evals >= max_eval or np.abs(g).max() <= tol_grad
                    or np.abs(d * t).max() <= tol_change or abs(loss - loss_prev) < tol_change):
                break
        st.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rho, H_diag=h_diag,
                  prev_flat_grad=g_prev, prev_loss=loss_prev)
        return orig_loss


def _two_loop(q, dirs, steps, rho, h_diag):
    """H·q for the L-BFGS inverse-Hessian approximation H built from the pairs (sᵢ, yᵢ), ρᵢ = 1/yᵢᵀsᵢ,
    starting from H₀ = h_diag·I (Nocedal & Wright, algorithm 7.4)."""
    q = q.copy()
    alphas = [0.0] * len(dirs)
    for i in range(len(dirs) - 1, -1, -1):
        alphas[i] = float(steps[i] @ q) * rho[i]
        q -= alphas[i] * dirs[i]
    r = q * h_diag
    for i in range(len(dirs)):
        beta = float(dirs[i] @ r) * rho[i]
        r += (alphas[i] - beta) * steps[i]
    return r
