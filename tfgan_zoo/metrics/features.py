"""Feature extractors: the networks whose features the Fréchet distance, KID and precision/recall compare.

One interface, `FeatureExtractor(model, feature_layer, logits_layer, input_range)`, over any Keras
classifier. It takes images in the data's scale ([-1, 1], NHWC) and maps them to what the model expects
(value range, size, grey to RGB), then returns the `feature_layer` activations and the `logits_layer`
outputs. Three sources of models:

- `load_evaluator("fashion_mnist_classifier")`: the zoo's own classifier, trained by
  `tools/train_evaluator.py` and shipped in `saved_models/evaluators/` with a model card;
- `inception_v3()`: Keras's ImageNet InceptionV3, the network of FID and the Inception score, for
  machines that can download its weights;
- any Keras model of yours, with the name of the layer to take features from.
"""

import json
import pathlib

import keras
import numpy as np
import tensorflow as tf

from tfgan_zoo import paths

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
# Datasets with an evaluator of their own (`paths.evaluators()`); the others default to InceptionV3.
DATASET_EVALUATORS = {"fashion_mnist": "fashion_mnist_classifier"}


class EvaluatorUnavailableError(RuntimeError):
    """An evaluator network cannot be built here (missing files, weights that cannot be downloaded)."""


class FeatureExtractor:
    """Features and logits of a Keras classifier, for images in [-1, 1].

    Args:
        model: a Keras model taking `[N, H, W, C]` images.
        feature_layer: name of the layer whose output is the feature vector (flattened if not 2-D).
        logits_layer: name of the layer giving class logits, for the classifier score; None if the model
            has none. A layer with a softmax activation gives probabilities, turned into log-probabilities
            (which are logits of the same distribution).
        input_range: `(low, high)` pixel range the model was trained on; [-1, 1] images are mapped to it.
        name: how reports name this extractor.
        info: facts for reports (e.g. the evaluator's test accuracy).
        batch_size: images per forward pass.
    """

    def __init__(
        self, model, feature_layer, logits_layer=None, input_range=(-1.0, 1.0), name=None, info=None, batch_size=500
    ):
        outputs = [_flat(_layer(model, feature_layer).output)]
        self._probabilities = False
        if logits_layer is not None:
            layer = _layer(model, logits_layer)
            self._probabilities = getattr(layer, "activation", None) is keras.activations.softmax
            outputs.append(layer.output)
        self.model = keras.Model(model.inputs, outputs)
        self.input_shape = tuple(model.inputs[0].shape[1:])
        self.feature_layer, self.logits_layer = feature_layer, logits_layer
        self.input_range = tuple(float(v) for v in input_range)
        self.name = name or model.name
        self.info = {"name": self.name, "feature_layer": feature_layer, "logits_layer": logits_layer, **(info or {})}
        self.batch_size = batch_size
        # XLA compiles convolutions into much slower code than TensorFlow's own CPU kernels.
        self._forward = tf.function(
            lambda x: tf.nest.flatten(self.model(x, training=False)), jit_compile=False, reduce_retracing=True
        )

    def __call__(self, images):
        """`(features [N, D], logits [N, K] or None)` of images `[N, H, W, C]` in [-1, 1], as float32 numpy."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4:
            raise ValueError(f"{self.name} takes images [N, H, W, C], got an array of shape {images.shape}.")
        outputs = [
            self._forward(self._prepare(images[i : i + self.batch_size]))
            for i in range(0, len(images), self.batch_size)
        ]
        features = np.concatenate([np.asarray(o[0]) for o in outputs])
        if self.logits_layer is None:
            return features, None
        logits = np.concatenate([np.asarray(o[1]) for o in outputs])
        return features, np.log(np.maximum(logits, 1e-30)) if self._probabilities else logits

    def _prepare(self, images):
        height, width, channels = self.input_shape
        x = tf.constant(images)
        if x.shape[-1] != channels:
            if x.shape[-1] != 1 or channels != 3:
                raise ValueError(f"{self.name} takes {channels}-channel images; got {x.shape[-1]} channels.")
            x = tf.image.grayscale_to_rgb(x)
        if (height, width) != tuple(x.shape[1:3]) and None not in (height, width):
            x = tf.image.resize(x, (height, width), method="bilinear")
        low, high = self.input_range
        return (x + 1.0) * ((high - low) / 2.0) + low


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise ValueError(f"Model {model.name!r} has no layer {name!r}; its layers are: {names}.") from None


def _flat(tensor):
    return keras.layers.Flatten()(tensor) if len(tensor.shape) > 2 else tensor


def load_evaluator(name_or_path="fashion_mnist_classifier"):
    """A shipped evaluator by name, or any folder holding an evaluator's `model_card.json` and model file.

    The card names the model `file`, `feature_layer`, `logits_layer` and `input_range`
    (`tools/train_evaluator.py` writes one); the extractor's `info` carries the card's `dataset` and
    `test_accuracy`.
    """
    folder = pathlib.Path(name_or_path)
    if not (folder / "model_card.json").exists():
        folder = paths.evaluators().get(str(name_or_path), (None, folder))[1]
    card_path = folder / "model_card.json"
    if not card_path.exists():
        raise EvaluatorUnavailableError(
            f"No evaluator {str(name_or_path)!r}: it holds no model_card.json and none of that name is in the "
            f"evaluators/ of {paths.searched('models')}. Known: {', '.join(paths.evaluators()) or 'none'}; "
            "`python tools/train_evaluator.py` builds fashion_mnist_classifier."
        )
    card = json.loads(card_path.read_text())
    model = keras.models.load_model(folder / card["file"])
    info = {key: card[key] for key in ("dataset", "test_accuracy") if key in card}
    return FeatureExtractor(
        model, card["feature_layer"], card.get("logits_layer"), card["input_range"], name=card["name"], info=info
    )


def inception_v3(batch_size=50):
    """Keras's ImageNet InceptionV3: 2048 `avg_pool` features (FID) and the `predictions` (Inception score).

    Images are resized to 299x299 and grey images repeated over RGB. Keras's weights are not the
    2015 TensorFlow graph the published FIDs used, so figures are close to, not equal to, those.
    Raises `EvaluatorUnavailableError` when the weights are neither cached nor downloadable.
    """
    try:
        model = keras.applications.InceptionV3(weights="imagenet")
    except Exception as error:  # Keras reports a failed download as a bare Exception.
        raise EvaluatorUnavailableError(
            f"InceptionV3's ImageNet weights are not cached and could not be downloaded ({error}). On a machine "
            f"with internet, build it once (Keras caches {INCEPTION_WEIGHTS} in ~/.keras/models/) or copy that file "
            "there. Offline, use the zoo's evaluator (load_evaluator('fashion_mnist_classifier'), "
            "`--evaluator fashion_mnist_classifier`) or a Keras classifier of your own "
            "(FeatureExtractor(model, feature_layer=...))."
        ) from None
    return FeatureExtractor(
        model,
        "avg_pool",
        "predictions",
        (-1.0, 1.0),
        name="inception_v3",
        info={"dataset": "imagenet"},
        batch_size=batch_size,
    )


def default_evaluator(dataset):
    """The name of the evaluator of `dataset`: its own classifier if the zoo ships one, else `"inception_v3"`."""
    return DATASET_EVALUATORS.get(dataset, "inception_v3")


def get(name_or_path):
    """`"inception_v3"`, or a shipped evaluator's name or folder (see `load_evaluator`)."""
    return inception_v3() if name_or_path == "inception_v3" else load_evaluator(name_or_path)
