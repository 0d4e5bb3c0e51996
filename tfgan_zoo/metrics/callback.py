"""`MetricsCallback`: metrics of a GAN's samples during `fit`, logged like losses, and the best model kept."""

import math

import keras
import numpy as np
from absl import logging

from tfgan_zoo.metrics import registry, suite


class MetricsCallback(keras.callbacks.Callback):
    """Adds `metric_fn(samples)` to the epoch logs every `every_n_epochs` epochs; optionally saves the best model.

    Put it before the readers of the logs -- `CSVLogger`, `TensorBoard`, checkpoints -- in the callback list
    so that they see the values. A zoo run's epoch is `train.steps_per_epoch` steps, so every N epochs is
    every `N * steps_per_epoch` steps. Epochs N, 2N, ... (counted from the start of training, so a resumed
    run keeps its schedule) and the first and last epochs of each `fit` are evaluated; the others log NaN,
    so that every logger sees the same keys at every epoch.

    ```python
    evaluator = metrics.load_evaluator("fashion_mnist_classifier")
    real = data.load("fashion_mnist", "test").x
    gan.fit(stream, epochs=20, steps_per_epoch=500, callbacks=[
        metrics.MetricsCallback(metrics.ImageMetrics(real[:2000], evaluator, ["fd", "kid"]),
                                num_samples=2000, best_path="best.keras", monitor="fd"),
        keras.callbacks.CSVLogger("history.csv"), keras.callbacks.TensorBoard("logs")])
    ```

    Args:
        metric_fn: samples -> dict of numbers, e.g. `ImageMetrics(...)` or
            `functools.partial(metrics.mode_coverage, centers=..., std=...)`.
        num_samples: samples drawn from `model.sample` per evaluation (balanced labels if conditional).
        every_n_epochs: evaluation interval.
        seed: sampling seed; the same at every evaluation, so values change only with the model.
        best_path: where to save the model (`model.save`) whenever `monitor` improves; None to not save.
        monitor: the value that decides the best model, e.g. `"fd"`.
        mode: `"min"`, `"max"`, or `"auto"` (max for scores such as `precision`, min for distances).
    """

    def __init__(
        self, metric_fn, num_samples=2500, every_n_epochs=1, seed=1234, best_path=None, monitor=None, mode="auto"
    ):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}.")
        if best_path is not None and monitor is None:
            raise ValueError("best_path needs monitor=<the value to optimise>, e.g. monitor='fd'.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
        if mode == "auto" and monitor is not None:
            metric = registry.get(monitor)
            if metric is not None and metric.better is None:
                raise ValueError(f"{monitor} is best neither high nor low: pass mode='min' or 'max' for it.")
            # Unregistered values are taken as distances or errors, like most of the zoo's.
            mode = "max" if metric is not None and metric.better == "higher" else "min"
        self.metric_fn, self.num_samples, self.every_n_epochs, self.seed = metric_fn, num_samples, every_n_epochs, seed
        self.best_path, self.monitor, self.mode = best_path, monitor, mode
        self.best = None  # the best `monitor` value of the current `fit`
        self._keys = ()
        self._first_epoch = None

    def on_train_begin(self, logs=None):
        self._first_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        if self._first_epoch is None:
            self._first_epoch = epoch
        due = (epoch + 1) % self.every_n_epochs == 0 or epoch in (self._first_epoch, self.params.get("epochs", 0) - 1)
        if not due:
            logs.update({key: math.nan for key in self._keys})
            return
        samples, _ = suite.sample(self.model, self.num_samples, self.seed)
        values = {key: float(value) for key, value in self.metric_fn(samples).items()}
        self._keys = tuple(values)
        logs.update(values)
        if self.monitor is not None:
            self._keep_best(epoch, values)

    def _keep_best(self, epoch, values):
        if self.monitor not in values:
            raise KeyError(f"monitor={self.monitor!r} is not among the metrics computed: {', '.join(values)}.")
        value = values[self.monitor]
        if np.isnan(value):
            return
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            if self.best_path is not None:
                self.model.save(self.best_path)
                logging.info("Epoch %d: %s improved to %.4g; saved %s.", epoch + 1, self.monitor, value, self.best_path)
