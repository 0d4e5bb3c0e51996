"""Train on synthetic, test on real (TSTR): how useful a conditional generator's samples are as training data.

A fixed small classifier is trained on generated labelled samples and tested on the real test split,
next to the same classifier trained on as many real examples (Esteban et al. 2017; Ravuri & Vinyals 2019
call the ratio the classification accuracy score, CAS). The protocol -- network, epochs, batch size,
seed -- is fixed, so accuracies of different generators compare; it is sized for a CPU, so its
real-data accuracy (86% on Fashion-MNIST with 10,000 examples) is below the state of the art.
"""

import keras
import numpy as np
import tensorflow as tf

from tfgan_zoo.metrics import suite

EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def classifier(input_shape, num_classes, seed=0):
    """The fixed TSTR network: two stride-2 3x3 convolutions (32, 64), a 128-unit layer, logits; over images
    `[H, W, C]`, or with 1-D convolutions (kernel 3) over series `[T, C]`."""
    layers = keras.layers
    conv = layers.Conv1D if len(input_shape) == 2 else layers.Conv2D

    def init(i):
        return keras.initializers.GlorotUniform(seed=seed * 10 + i)

    inputs = keras.Input(input_shape)
    x = conv(32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0))(inputs)
    x = conv(64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1))(x)
    x = layers.Dense(128, activation="relu", kernel_initializer=init(2))(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(num_classes, kernel_initializer=init(3))(x), name="tstr_classifier")


def classifier_accuracy(train_images, train_labels, test_images, test_labels, num_classes, seed=0):
    """Test accuracy of the fixed classifier trained on `(train_images, train_labels)`.

    Deterministic for a given seed: the weights and the order of the examples come from it, and no global
    random state is read or changed.
    """
    predicted = classifier_predictions(train_images, train_labels, test_images, num_classes, seed)
    return float(np.mean(predicted == np.asarray(test_labels)))


def class_recalls(predicted, labels, num_classes):
    """`[num_classes]`: the share of the examples of each class predicted as that class (NaN for a class absent
    from `labels`): TSTR or TRTS per class, where an average over classes hides the class a generator fails."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    return np.array(
        [np.mean(predicted[labels == c] == c) if np.any(labels == c) else np.nan for c in range(num_classes)]
    )


def classifier_predictions(train_images, train_labels, test_images, num_classes, seed=0):
    """The classes that the fixed classifier trained on `(train_images, train_labels)` predicts for `test_images`
    (deterministic for a given seed, as `classifier_accuracy`)."""
    train_images, test_images = np.asarray(train_images, np.float32), np.asarray(test_images, np.float32)
    train_labels = np.asarray(train_labels, np.int32)
    if train_images.ndim not in (3, 4) or train_images.shape[1:] != test_images.shape[1:]:
        raise ValueError(
            f"TSTR takes images [N, H, W, C] or series [N, T, C] of one shape; got train "
            f"{train_images.shape} and test {test_images.shape}."
        )
    model = classifier(train_images.shape[1:], num_classes, seed)
    model.compile(
        keras.optimizers.Adam(LEARNING_RATE),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    # One `fit` over all epochs (each epoch a seeded permutation) traces the train step once, not per epoch.
    orders = np.stack([np.random.default_rng([seed, epoch]).permutation(len(train_images)) for epoch in range(EPOCHS)])
    images, labels = tf.constant(train_images), tf.constant(train_labels)
    batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(BATCH_SIZE)
    )
    batches = batches.apply(tf.data.experimental.assert_cardinality(EPOCHS * -(-len(train_images) // BATCH_SIZE)))
    model.fit(batches.map(lambda i: (tf.gather(images, i), tf.gather(labels, i))), shuffle=False, verbose=0)
    return np.concatenate(
        [np.argmax(model(test_images[i : i + 1000], training=False), axis=1) for i in range(0, len(test_images), 1000)]
    )  # eager: no graph to trace


def train_on_synthetic_test_on_real(generator, real_train, real_test, num_samples=10000, seed=0):
    """TSTR of a conditional generator, next to the same classifier trained on real data.

    Args:
        generator: anything with `num_classes > 0` and `sample(n, seed=..., labels=...)`.
        real_train, real_test: `(images, labels)` of the real data; `num_samples` of `real_train` are used.
        num_samples: generated (and real) training examples, balanced over the classes.

    Returns:
        `{"tstr_accuracy", "real_accuracy", "tstr_ratio"}`, the ratio being TSTR over real accuracy.
    """
    if not getattr(generator, "num_classes", 0):
        raise ValueError("TSTR needs a conditional generator (num_classes > 0) to label its samples.")
    images, labels = suite.sample(generator, num_samples, seed)
    tstr = classifier_accuracy(images, labels, *real_test, generator.num_classes, seed)
    real = classifier_accuracy(
        real_train[0][:num_samples], real_train[1][:num_samples], *real_test, generator.num_classes, seed
    )
    return {"tstr_accuracy": tstr, "real_accuracy": real, "tstr_ratio": tstr / real}
