"""Keras callbacks of a training run: checkpoints, sample pictures, the loss plot (metrics: `tfgan_zoo.metrics`;
a family's own, such as progressive growth: its `networks` module)."""

import csv
import io
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_zoo import config, plots


class Checkpoint(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` every `every` training steps and at the end of training, numbered by
    the step. Only steps beyond the one training began at are saved: after a rollback nothing is rewritten.

    A save due at the end of an epoch (every `epoch_steps` steps) waits for `on_epoch_end`: placed after the
    callbacks that record the epoch (history, pictures, TensorBoard), it saves only once they have, so a run killed
    just after a checkpoint has lost none of its record."""

    def __init__(self, manager, every, epoch_steps):
        super().__init__()
        self.manager, self.every, self.epoch_steps = manager, every, epoch_steps
        self.saved_step = None

    def on_train_begin(self, logs=None):
        self.saved_step = int(self.model.step.numpy())

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step % self.every == 0 and step % self.epoch_steps:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if int(self.model.step.numpy()) % self.every == 0:
            self.save()

    def on_train_end(self, logs=None):
        self.save()

    def save(self):
        step = int(self.model.step.numpy())
        if step > self.saved_step:
            self.manager.save(checkpoint_number=step)
            self.saved_step = step


class SamplePictures(keras.callbacks.Callback):
    """Writes a fixed-seed picture of samples every epoch: `samples.png` (latest),
    `samples/step_<step>.png`, and a TensorBoard image. 2-D samples are drawn as a scatter
    over the data and its modes; time series beside real ones of the same class and conditions;
    images as a grid."""

    def __init__(self, workdir, source, num_samples=64, seed=4321):
        super().__init__()
        self.workdir, self.source, self.num_samples, self.seed = workdir, source, num_samples, seed
        self.writer = tf.summary.create_file_writer(os.path.join(workdir, "logs", "samples"))
        os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.step.numpy())
        png = self.picture(step)
        for path in (
            os.path.join(self.workdir, "samples.png"),
            os.path.join(self.workdir, "samples", f"step_{step:07d}.png"),
        ):
            with open(path, "wb") as f:
                f.write(png)
        with self.writer.as_default():
            tf.summary.image("samples", tf.io.decode_png(png)[None], step=step)
        self.writer.flush()

    def picture(self, step):
        source = self.source
        if source.kind == "points":
            labels = np.arange(2500) % self.model.num_classes if self.model.num_classes else None  # every class
            samples = self.model.sample(2500, seed=self.seed, labels=labels)
            return plots.scatter_png(
                samples, source.x[:2500], source.metadata.get("centers"), title=f"{source.name}, step {step}"
            )
        if source.kind == "series":
            return self.curves_picture()
        num_classes = self.model.num_classes
        labels = plots.class_rows(num_classes, self.num_samples) if num_classes else None
        images = self.model.sample(self.num_samples if labels is None else len(labels), self.seed, labels)
        return plots.image_grid_png(images, rows=num_classes or None)

    def curves_picture(self, per_class=4):
        """Real series, `per_class` of each class, each above a generated one of its class and conditions."""
        source, num_classes = self.source, self.model.num_classes
        if num_classes:
            chosen = np.concatenate([np.flatnonzero(source.y == c)[:per_class] for c in range(num_classes)])
        else:
            chosen = np.arange(min(len(source.x), per_class))
        labels = source.y[chosen] if num_classes else None
        conditions = {name: source.conditions[name][chosen] for name in self.model.conditions}
        generated = self.model.sample(len(chosen), self.seed, labels, conditions)
        titles = source.metadata.get("class_names") if num_classes else None
        return plots.curves_png(generated, rows=num_classes or 1, real=source.x[chosen], row_titles=titles)


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, its epoch's points flushed at the epoch end rather than up to two minutes
    later, so that they are on disk before the epoch's checkpoint. With `update_freq="epoch"` it does nothing per
    step: Keras' own calls `summary.scalar` for every metric at every step even then, which cost a 2-core CPU
    2.5 ms a step for points no writer keeps."""

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq != "epoch" or self._should_trace:
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        for writer in self._writers.values():
            writer.flush()


class HistoryCSV(keras.callbacks.Callback):
    """`history.csv`: one row per epoch (`epoch` counted from 0, then the logs), across resumes.

    The file is rewritten whole, atomically, at each epoch end, with the union of the epochs' columns (a resume
    that turns on a penalty adds one). On construction it keeps only well-formed rows of epochs before
    `first_epoch`, where the resumed run begins, once each: rows of later epochs were written before a kill
    ended the run ahead of their checkpoint, and are written again; a second header or a torn row (a second
    process on the workdir before it was locked, a full disk) is dropped with a warning. A file whose header is
    not one is moved aside to `history.csv.damaged`.
    """

    def __init__(self, path, first_epoch):
        super().__init__()
        self.path, self.rows = path, []
        if not os.path.exists(path):
            return
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
        if not lines or lines[0][:1] != ["epoch"]:
            os.replace(path, f"{path}.damaged")
            logging.warning("%s has no header; moved it to %s.damaged and started a new one.", path, path)
            return
        header, seen, dropped = lines[0], set(), 0
        for line in lines[1:]:
            epoch = line[0] if line and len(line) == len(header) else ""
            if not epoch.isdigit() or int(epoch) in seen:
                dropped += 1
            elif int(epoch) < first_epoch:
                seen.add(int(epoch))
                self.rows.append(dict(zip(header, line)))
        if dropped:
            logging.warning("%s: dropped %d damaged or repeated rows; kept epochs %s.", path, dropped, sorted(seen))
        self.write()

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{key: float(value) for key, value in (logs or {}).items()}})
        self.write()

    def write(self):
        columns = ["epoch", *sorted({key for row in self.rows for key in row} - {"epoch"})]
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        config.write_atomically(self.path, text.getvalue())


class HistoryPlot(keras.callbacks.Callback):
    """Draws the loss curves of the whole run (resumes included) from the CSV log at every epoch end."""

    def __init__(self, csv_path, png_path):
        super().__init__()
        self.csv_path, self.png_path = csv_path, png_path

    def on_epoch_end(self, epoch, logs=None):
        if os.path.exists(self.csv_path):
            with open(self.png_path, "wb") as f:
                f.write(plots.history_png(self.csv_path))
