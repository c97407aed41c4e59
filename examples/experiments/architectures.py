"""Experiment 10, architectures: the model zoo as the lectures' tables — per-layer output shape,
parameters and multiply-adds (``nn.utils.summary``) for LeNet-5, AlexNet, VGG-16, ResNet-18 and
GoogLeNet's Inception (3a) block, with the totals checked against the published counts."""
from __future__ import annotations

import time

import nn
from nn.models import InceptionBlock, alexnet, lenet5, resnet18, vgg16
from nn.utils import summary

from . import common

NAME = "architectures"
TITLE = "10. Architectures"
CLAIM = ("LeNet-5 has ~60 k parameters, AlexNet ~60 M, VGG-16 138 M (most in its first fully "
         "connected layer) for ~15.5 G multiply-adds, ResNet-18 11.7 M for ~1.8 G; the Inception "
         "block's 1×1 reductions keep its cost low")

# name -> (factory, full input size, published parameters, published multiply-adds or None, source)
ZOO = {
    "LeNet-5": (lenet5, (1, 1, 28, 28), 61_706, None, "LeCun et al. 1998 (conv1 padding 2)"),
    "AlexNet": (alexnet, (1, 3, 227, 227), 62_378_344, None, "Krizhevsky et al. 2012, one-tower form"),
    "VGG-16": (vgg16, (1, 3, 224, 224), 138_357_544, 15_470_000_000, "Simonyan & Zisserman 2014; torchvision"),
    "ResNet-18": (resnet18, (1, 3, 224, 224), 11_689_512, 1_810_000_000, "He et al. 2016; torchvision"),
    "Inception (3a)": (lambda: InceptionBlock(192, 64, 96, 128, 16, 32, 32), (1, 192, 28, 28), 163_696, None,
                       "Szegedy et al. 2014, Table 1 (159 K without biases)"),
}
QUICK_SIZE = {"AlexNet": (1, 3, 67, 67), "VGG-16": (1, 3, 32, 32), "ResNet-18": (1, 3, 32, 32),
              "Inception (3a)": (1, 192, 8, 8)}


def run(cfg):
    folder = cfg.folder(NAME)
    rows, layers, results = [], {}, {}
    for name, (factory, size, params, macs, source) in ZOO.items():
        size = QUICK_SIZE.get(name, size) if cfg.quick else size
        common.seed_all(cfg.seed)
        model = factory()
        start = time.perf_counter()
        s = summary(model, size)
        seconds = time.perf_counter() - start
        layers[name] = s
        rel = (s.total_mult_adds / macs - 1) if (macs and not cfg.quick) else None
        rows.append({"model": name, "input": "×".join(map(str, size[1:])), "parameters": f"{s.total_params:,}",
                     "published": f"{params:,}", "match": "yes" if s.total_params == params else "NO",
                     "multiply-adds": f"{s.total_mult_adds:,}",
                     "published mult-adds": f"{macs / 1e9:.2f} G" if macs else "",
                     "mult-adds vs published": f"{rel:+.1%}" if rel is not None else "",
                     "forward (s)": seconds, "source": source})
        results[name] = {"params": s.total_params, "published": params, "mult_adds": s.total_mult_adds,
                         "published_mult_adds": macs}

    plt = common.plt()
    fig, axes = plt.subplots(len(ZOO), 1, figsize=(14, 3.0 * len(ZOO)))
    for ax, (name, s) in zip(axes, layers.items()):
        rows_ = [r for r in s.layers if r.params or r.mult_adds]
        xs = range(len(rows_))
        ax.bar(xs, [max(r.params, 1) for r in rows_], color="tab:blue", label="parameters")
        ax.set_yscale("log")
        ax.set_ylabel("parameters")
        ax2 = ax.twinx()
        ax2.plot(xs, [max(r.mult_adds, 1) for r in rows_], "o-", color="tab:red", ms=3, label="multiply-adds")
        ax2.set_yscale("log")
        ax2.set_ylabel("multiply-adds", color="tab:red")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r.name for r in rows_], rotation=90, fontsize=6)
        ax.set_title(f"{name}: {s.total_params:,} parameters, {s.total_mult_adds:,} multiply-adds "
                     f"(input {'×'.join(map(str, s.input_size[1:]))})")
    common.save_figure(fig, folder)

    tables = [("totals against the published counts", rows)]
    for name, s in layers.items():
        tables.append((f"{name} per layer", [{"layer": f"{r.name} ({r.type})",
                                               "output shape": "×".join(map(str, r.output_shape[1:]))
                                               if r.output_shape is not None else "--",
                                               "parameters": f"{r.params:,}", "multiply-adds": f"{r.mult_adds:,}"}
                                              for r in s.layers]))
    vgg = layers["VGG-16"]
    fc = max(vgg.layers, key=lambda r: r.params)
    outcome = ("parameter totals " + ", ".join(f"{n} {r['params']:,} ({'=' if r['params'] == r['published'] else '≠'} "
                                                f"published)" for n, r in results.items())
               + f"; VGG-16's largest layer is {fc.name} with {fc.params / vgg.total_params:.0%} of its parameters")
    if not cfg.quick:
        outcome += "; multiply-adds " + ", ".join(
            f"{n} {r['mult_adds'] / 1e9:.2f} G" + (f" (published {r['published_mult_adds'] / 1e9:.2f} G)"
                                                    if r["published_mult_adds"] else "")
            for n, r in results.items())
    common.write_results(folder, TITLE, CLAIM, tables, outcome, cfg)
    return {"outcome": outcome, "models": results, "vgg_fc_share": fc.params / vgg.total_params}
