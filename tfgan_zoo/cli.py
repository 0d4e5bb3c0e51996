"""The `tfgan-zoo` command line: `train`, `list`."""

import os
import sys

from absl import app, flags

flags.DEFINE_string("config", "vanilla_ring8", "Zoo config: an entry name (see `list`) or a YAML path.")
flags.DEFINE_string("workdir", None, "Directory of the run (default: runs/<config name>). Re-running resumes it.")
flags.DEFINE_multi_string("set", [], "Config override section.key=value, e.g. --set train.steps=1000. Repeatable.")
flags.DEFINE_enum("verbose", "auto", ["auto", "0", "1", "2"], "Keras progress output of `fit`.")
FLAGS = flags.FLAGS

USAGE = """usage: tfgan-zoo <command> [flags]

commands:
  train   --config <entry or yaml> --workdir DIR [--set key=value ...]   train or resume a run
  list                                                                   the zoo's configs
"""


def _train():
    from tfgan_zoo import config, training, zoo

    cfg = config.load(zoo.config_path(FLAGS.config), FLAGS.set)
    workdir = FLAGS.workdir or os.path.join("runs", cfg.name)
    verbose = FLAGS.verbose if FLAGS.verbose == "auto" else int(FLAGS.verbose)
    training.train(cfg, workdir, verbose=verbose)
    print(f"Done: samples in {os.path.join(workdir, 'samples.png')}, losses in {os.path.join(workdir, 'losses.png')}, "
          f"TensorBoard: tensorboard --logdir {os.path.join(workdir, 'logs')}")


def _list():
    from tfgan_zoo import zoo

    rows = [("config", "family", "data", "conditional", "steps")] + zoo.describe_configs()
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)))


COMMANDS = {"train": _train, "list": _list}


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        raise app.UsageError(USAGE + (f"\nunknown command or extra arguments: {' '.join(argv[1:])}" if argv[1:] else ""))
    from tfgan_zoo import config

    try:
        COMMANDS[argv[1]]()
    except (config.ConfigError, FileNotFoundError, PermissionError, ValueError) as error:
        sys.exit(f"tfgan-zoo {argv[1]}: {error}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
