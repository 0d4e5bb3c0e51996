"""Trains the Fashion-MNIST classifier that evaluates the zoo's generators, and writes its model card.

    python tools/train_evaluator.py

writes `saved_models/evaluators/fashion_mnist_classifier/{classifier.keras, model_card.json}`.
Inception weights cannot be downloaded everywhere (and Inception never saw Fashion-MNIST), so, as
TF-GAN does for MNIST, the zoo measures Fréchet distance, KID, precision/recall and the classifier
score in the feature space of a small classifier trained on the data itself: its penultimate layer
`features` (128 ReLU units) and its `logits`. Inputs are 28x28x1 images in [-1, 1], the scale of
`tfgan_zoo.data` and of the generators' samples. Training is seeded and op-deterministic, so this
command rebuilds the shipped weights on the same software; it takes about 30 minutes on 2 CPU cores.
There is no data augmentation on purpose: flipped or shifted clothes never occur in Fashion-MNIST, and
an evaluator blind to them would not notice a generator that makes them.
"""

import json
import os
import pathlib
import platform
import sys
import time

import keras
import tensorflow as tf
from absl import app, flags

from tfgan_zoo import data

flags.DEFINE_string(
    "output",
    str(pathlib.Path(__file__).resolve().parent.parent / "saved_models" / "evaluators" / "fashion_mnist_classifier"),
    "Folder that receives classifier.keras and model_card.json.",
)
flags.DEFINE_integer("epochs", 15, "Passes over the 60,000 training images.")
flags.DEFINE_integer("seed", 0, "Seed of the initial weights, dropout and data order.")
FLAGS = flags.FLAGS

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
MODEL_FILE = "classifier.keras"


def classifier(num_classes=10):
    """Three conv-BN-ReLU-pool blocks (32, 64, 128 channels), a 128-unit `features` layer, `logits`."""
    layers = keras.layers
    inputs = keras.Input((28, 28, 1), name="images")
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    features = layers.Dense(128, activation="relu", name="features")(x)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(inputs, logits, name="fashion_mnist_classifier")


def main(argv):
    del argv
    keras.utils.set_random_seed(FLAGS.seed)
    tf.config.experimental.enable_op_determinism()
    train, test = data.load("fashion_mnist", "train"), data.load("fashion_mnist", "test")
    model = classifier(train.num_classes)
    steps = FLAGS.epochs * -(-len(train.x) // BATCH_SIZE)
    # XLA makes these convolutions several times slower on CPU than TensorFlow's oneDNN kernels.
    model.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    start = time.time()
    model.fit(train.x, train.y, batch_size=BATCH_SIZE, epochs=FLAGS.epochs, verbose=2)
    wall_time = time.time() - start
    _, accuracy = model.evaluate(test.x, test.y, batch_size=1000, verbose=0)

    output = pathlib.Path(FLAGS.output)
    output.mkdir(parents=True, exist_ok=True)
    # An uncompiled model of the same layers: saved without the optimizer, whose Adam moments would triple the
    # file, since evaluators only run inference.
    keras.Model(model.inputs, model.outputs, name=model.name).save(output / MODEL_FILE)
    card = {
        "name": "fashion_mnist_classifier",
        "kind": "evaluator",
        "description": "Feature extractor of the zoo's Fashion-MNIST metrics (Frechet distance, KID, "
        "precision/recall on `feature_layer`; classifier score on `logits_layer`). Not a generator.",
        "dataset": "fashion_mnist",
        "data_origin": train.origin,
        "file": MODEL_FILE,
        "input_shape": [28, 28, 1],
        "input_range": [-1.0, 1.0],
        "feature_layer": "features",
        "logits_layer": "logits",
        "num_classes": train.num_classes,
        "class_names": list(train.metadata["class_names"]),
        "parameters": model.count_params(),
        "test_accuracy": round(float(accuracy), 4),
        "training": {
            "split": "train (60,000 images)",
            "epochs": FLAGS.epochs,
            "batch_size": BATCH_SIZE,
            "optimizer": f"Adam, cosine decay from {LEARNING_RATE}",
            "seed": FLAGS.seed,
            "wall_time_s": round(wall_time),
            "hardware": f"{os.cpu_count()} CPU cores ({platform.machine()})",
            "command": "python tools/train_evaluator.py" + "".join(f" {arg}" for arg in sys.argv[1:]),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
    (output / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"Test accuracy {accuracy:.4f}; wrote {output / MODEL_FILE} and {output / 'model_card.json'}.")


if __name__ == "__main__":
    app.run(main)
