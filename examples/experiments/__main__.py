"""``python -m examples.experiments NAME|all [--quick] [--data-dir DIR] [--out DIR]``."""
import argparse
import shutil
import sys
from pathlib import Path

from . import EXPERIMENTS, Config, available, run


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.experiments",
                                     description="Rerun the lectures' experiments; each writes "
                                                 "OUT/NAME/figure.png and OUT/NAME/results.md.")
    parser.add_argument("name", help="an experiment (" + ", ".join(EXPERIMENTS.values()) + ") or 'all'")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds per experiment")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the MNIST IDX files (default: scikit-learn's bundled digits)")
    parser.add_argument("--out", default="out/experiments", help="output root (default out/experiments)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", default=None, metavar="DIR",
                        help="also copy each figure to DIR/NAME.png and its table to DIR/NAME.md")
    args = parser.parse_args(argv)
    names = available() if args.name == "all" else [args.name]
    if args.name != "all" and args.name not in EXPERIMENTS.values():
        parser.error(f"unknown experiment {args.name!r}")
    cfg = Config(quick=args.quick, data_dir=args.data_dir, out=Path(args.out), seed=args.seed)
    for name in names:
        print(f"== {name}", flush=True)
        results = run(name, cfg)
        print(f"   {results.get('outcome', '')}")
        print(f"   wrote {cfg.out / name}/ in {results['seconds']:.1f} s", flush=True)
        if args.docs:
            docs = Path(args.docs)
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cfg.out / name / "figure.png", docs / f"{name}.png")
            text = (cfg.out / name / "results.md").read_text()
            (docs / f"{name}.md").write_text(text.replace("Run: ", f"Run ({results['seconds']:.0f} s): ", 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
