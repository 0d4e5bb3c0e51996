"""Light curves asked for given periods, per class, with the period each came out with.

    python tools/lightcurve_periods.py --model cgan_lightcurves --output docs/images/lightcurves/periods.png

One row per class, one column per asked period (amplitude 0.5, one latent per column): each panel has dotted
lines one asked period apart through the curve's deepest point and names the period that the zoo's periodogram
(`tfgan_zoo.metrics.lightcurves.measure`) finds in it.
"""

import pathlib

import numpy as np
from absl import app, flags

from tfgan_zoo import plots, zoo
from tfgan_zoo.data import lightcurves as data
from tfgan_zoo.metrics import lightcurves

flags.DEFINE_string("model", "cgan_lightcurves", "A light-curves entry (name or folder), workdir or .keras file.")
flags.DEFINE_list("periods", ["18", "26", "34", "42"], "Asked periods, in steps.")
flags.DEFINE_float("amplitude", 0.5, "Asked amplitude.")
flags.DEFINE_integer("seed", 0, "Seed of the latents.")
flags.DEFINE_string("output", "periods.png", "Where the PNG goes.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    model = zoo.load_pretrained(FLAGS.model)
    periods = np.array([float(p) for p in FLAGS.periods])
    labels = np.repeat(np.arange(model.num_classes), len(periods))
    asked = np.tile(periods, model.num_classes)
    curves = model.sample(
        len(labels), seed=FLAGS.seed, labels=labels, conditions={"amplitude": FLAGS.amplitude, "period": asked}
    )
    _, measured = lightcurves.measure(curves, model.conditions["period"])
    output = pathlib.Path(FLAGS.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(plots.periods_png(curves, asked, measured, model.num_classes, data.CLASS_NAMES))
    print(f"Wrote {output}")


if __name__ == "__main__":
    app.run(main)
