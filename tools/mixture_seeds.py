"""Trains a 2-D mixture config over several seeds and reports mode coverage per seed and on average.

    python tools/mixture_seeds.py --config vanilla_ring8 --seeds 0,1,2,3,4 --workdir runs/seeds

Each seed is a full `tfgan-zoo train` run (`train.seed=S`) in `<workdir>/<config>_seed<S>`, so runs resume
and stay available for `tfgan-zoo sample`. Coverage is measured on 2,500 samples of the final generator
(PacGAN protocol, `tfgan_zoo.metrics.mode_coverage`).
"""

import json
import os

import numpy as np
from absl import app, flags

from tfgan_zoo import build, config, metrics, paths, training

flags.DEFINE_string("config", "vanilla_ring8", "Zoo config of a 2-D mixture.")
flags.DEFINE_string("seeds", "0,1,2,3,4", "Comma-separated training seeds.")
flags.DEFINE_string("workdir", "runs/seeds", "Parent directory of the runs.")
flags.DEFINE_multi_string("set", [], "Config overrides, as for `tfgan-zoo train`.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    rows = []
    for seed in [int(s) for s in FLAGS.seeds.split(",")]:
        cfg = config.load(paths.config_path(FLAGS.config), FLAGS.set + [f"train.seed={seed}"])
        gan, _ = training.train(cfg, os.path.join(FLAGS.workdir, f"{cfg.name}_seed{seed}"), verbose=0)
        source = build.load_source(cfg, "test")
        result = metrics.mode_coverage(
            gan.sample(2500, seed=10_000 + seed), source.metadata["centers"], source.metadata["std"]
        )
        rows.append({"seed": seed, **result})
        print(json.dumps(rows[-1]), flush=True)
    keys = ["modes_covered", "high_quality", "reverse_kl", "spread"]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in keys}
    print(f"{FLAGS.config} over {len(rows)} seeds: " + ", ".join(f"{k} {v:.4g}" for k, v in mean.items()))
    with open(os.path.join(FLAGS.workdir, f"{FLAGS.config}_seeds.json"), "w") as f:
        json.dump({"config": FLAGS.config, "overrides": FLAGS.set, "runs": rows, "mean": mean}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
