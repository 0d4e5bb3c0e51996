"""The health of a training run: stop on NaN/Inf with the last good checkpoint restored, warn when D wins or samples
collapse. `training.train` adds `TrainingHealth` to every run, configured by the `health` section of the config."""

import math

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_zoo import augment, data
from tfgan_zoo.metrics import scores, suite
from tfgan_zoo.networks.layers import MinibatchDiscrimination, MinibatchStdDev


class TrainingDiverged(FloatingPointError):
    """Raised by `training.train` when a loss or a weight became NaN or Inf; the run is rolled back."""


def _binary_entropy(p):
    return -sum(q * math.log(q) for q in (p, 1 - p) if q > 0)


def best_discriminator_loss(loss, label_smoothing=0.0, label_noise=0.0, label_flip=0.0):
    """The smallest mean D loss that `loss` reaches with the targets of `GAN.discriminator_targets`; None for
    the Wasserstein loss, which has no floor.

    Noise and flips are drawn independently of the examples, so D does best predicting each side's mean target
    m: the cross-entropy of the minimax and non-saturating losses then costs the binary entropy H(m) per side
    (H(0.9) = 0.325 with one-sided label smoothing 0.1, Salimans et al. 2016), least squares half the targets'
    variance (0 for fixed targets), hinge nothing.
    """
    if loss == "wasserstein":
        return None
    if loss == "hinge":
        return 0.0
    s, w, f = label_smoothing, label_noise, label_flip
    # (mean, second moment) of the unflipped targets: real U[1 - s - w, 1 - s], fake U[0, w].
    real, fake = (1 - s - w / 2, (1 - s - w / 2) ** 2 + w * w / 12), (w / 2, w * w / 3)
    sides = [[(1 - f) * a + f * b for a, b in zip(real, fake)], [(1 - f) * b + f * a for a, b in zip(real, fake)]]
    if loss == "least_squares":
        return sum(0.5 * (second - mean**2) for mean, second in sides)
    return sum(_binary_entropy(mean) for mean, _ in sides)


class TrainingHealth(keras.callbacks.Callback):
    """Watches a GAN during `fit`; every finding goes to the log and, as text, to TensorBoard under `logdir`.

    - A loss, gradient norm or weight that is NaN or Inf stops training and calls `restore` (which loads the last
      good checkpoint and returns its path): place this callback before the checkpoint saver, so that nothing
      non-finite reaches the disk. The logged values are checked at every step; the weights, a reduction over all
      of them, at every `check_weights_every` steps (the checkpoint interval) and when training ends, which is
      before every save: a non-finite weight makes the losses non-finite at the next step anyway. `failure` then holds the message. An update that float16 loss scaling skips
      is no divergence: `GAN` counts it in `loss_scale_skips` and leaves it out of the gradient norms.
    - A discriminator loss less than `d_loss_floor` above the best it can reach with its targets
      (`best_discriminator_loss`) for `window` consecutive steps warns that D is winning, with ADA's p and r_t
      when the GAN augments with ADA, or the advice to augment images and series. Not for the Wasserstein loss,
      whose critic loss has no floor.
    - At each epoch end, `diversity` is added to the logs: the recall (Kynkäänniemi et al. 2019) of
      `num_samples` samples against real data, relative to the recall of real data against real data.
      Below `min_diversity` while the samples' precision exceeds their recall (they are near the data but
      cover little of it) it warns of mode collapse. 0 turns the check off.

    Args:
        logdir: TensorBoard directory of the findings.
        restore: callable that restores the last good checkpoint and returns its path (None if none).
        real: real examples, at least `2 * num_samples` of them for an unbiased reference.
        loss: the GAN loss name.
        label_smoothing, label_noise, label_flip: D's targets, as `GAN.compile` takes them.
        check_weights_every: steps between checks of the weights (1: every step).
    """

    def __init__(
        self,
        logdir,
        restore,
        real,
        loss,
        d_loss_floor=0.05,
        window=200,
        min_diversity=0.3,
        num_samples=1000,
        label_smoothing=0.0,
        label_noise=0.0,
        label_flip=0.0,
        check_weights_every=1,
    ):
        super().__init__()
        self.check_weights_every = check_weights_every
        self.restore, self.loss = restore, loss
        self.d_loss_floor, self.window, self.min_diversity = d_loss_floor, window, min_diversity
        self.best_d_loss = best_discriminator_loss(loss, label_smoothing, label_noise, label_flip)
        self.writer = tf.summary.create_file_writer(logdir)
        self.num_samples = min(num_samples, len(real) // 2)
        real = np.asarray(real[: 2 * self.num_samples], np.float32)
        self.real, self.real_reference = real[: self.num_samples], real[self.num_samples :]
        self.reference_recall = None
        self._transformed_real = None
        self.failure = None
        self.findings = []
        self._low_d_loss_steps = 0
        self._finite = None

    def set_model(self, model):
        super().set_model(model)
        weights = [w for w in model.weights if "float" in str(w.dtype)]
        # One compiled reduction over every weight, instead of one host transfer per variable per step.
        self._finite = tf.function(lambda: tf.reduce_all([tf.reduce_all(tf.math.is_finite(w)) for w in weights]))

    def report(self, message, step, error=False):
        (logging.error if error else logging.warning)(message)
        self.findings.append(message)
        with self.writer.as_default():
            tf.summary.text("health", message, step=step)
        self.writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = int(self.model.step.numpy())
        bad = [name for name, value in logs.items() if not np.all(np.isfinite(value))]
        if step % self.check_weights_every == 0 and not bool(self._finite()):
            bad.append("a weight")
        if bad:
            self._stop(step, bad)
        elif self.best_d_loss is not None and "d_loss" in logs:
            self._watch_discriminator(step, float(np.mean(logs["d_loss"])), logs)

    def on_train_end(self, logs=None):
        if not self.failure and not bool(self._finite()):
            self._stop(int(self.model.step.numpy()), ["a weight"])

    def _stop(self, step, bad):
        self.model.stop_training = True
        restored = self.restore()
        rollback = (
            f"Restored the last good checkpoint {restored} (step {int(self.model.step.numpy())}); "
            "nothing after it was saved."
            if restored
            else "No checkpoint was saved before it."
        )
        self.failure = (
            f"Training diverged at step {step}: {', '.join(bad)} became NaN or Inf. {rollback} Lower the learning "
            "rates (train.d_learning_rate, train.g_learning_rate) or add a gradient penalty or R1 "
            "(train.gradient_penalty, train.r1), and resume: run the same command with those --set changes "
            "(the workdir records them in config_history.yaml). Spectral norm (model.spectral_norm) needs a new "
            "--workdir."
        )
        self.report(self.failure, step, error=True)

    def _watch_discriminator(self, step, d_loss, logs):
        # The logged loss is the mean since the epoch began, so a lasting low value, not one lucky batch, counts.
        # One warning per stretch of low loss.
        limit = self.best_d_loss + self.d_loss_floor
        self._low_d_loss_steps = self._low_d_loss_steps + 1 if d_loss < limit else 0
        if self._low_d_loss_steps == self.window:
            self.report(
                f"Step {step}: the discriminator is winning: its loss has stayed below {limit:.3g} (within "
                f"{self.d_loss_floor} of the {self.best_d_loss:.3g} its targets allow) for {self.window} steps, "
                "so the generator's gradients vanish. Likely causes: D learns much faster "
                "than G, or real and generated samples barely overlap. Helps: one-sided label smoothing "
                "(train.label_smoothing=0.1), instance noise (train.instance_noise=0.1), fewer D steps per G step "
                "(train.d_steps), a lower D learning rate (train.d_learning_rate)." + self._augmentation_advice(logs),
                step,
            )

    def _augmentation_advice(self, logs):
        """What the D-is-winning warning says of augmentation: ADA's p and r_t, or, without augmentation of images
        or series, that it helps a D that memorises a small dataset."""
        if self.model.augment == "none":
            if data.sample_kind(self.model.generator.output_shape[1:]) not in augment.POLICIES:
                return ""
            return (
                " With few training examples D memorises them: augment what it sees (train.augment=ada or "
                "diffaugment, in a new --workdir)."
            )
        if self.model.augment != "ada":
            return ""
        p, r_t, target = (
            float(self.model.augment_probability.numpy()),
            float(np.mean(logs["ada_r_t"])),
            self.model.ada_target,
        )
        if p >= 1:
            advice = (
                "it can augment no more: more data, or more augmentations (train.augment_policy, in a new --workdir)"
            )
        elif r_t > target:
            advice = "it rises while r_t stays above the target, faster with a lower train.ada_kimg"
        else:
            advice = "r_t is below the target, so D does not overfit the augmented data: the causes above are likelier"
        return f" ADA's augmentation probability p is {p:.2f} and D's overfitting r_t {r_t:.2f} (target {target:g}): {advice}."

    def on_epoch_end(self, epoch, logs=None):
        if self.failure or not self.min_diversity:
            return
        real, reference = self.real, self.real_reference
        transform = self.model.real_transform
        if transform is not None:  # the real images as D sees them now, e.g. at the current progressive level
            real, reference = np.asarray(transform(real)), np.asarray(transform(reference))
            if self._transformed_real is None or not np.array_equal(real, self._transformed_real):
                self.reference_recall, self._transformed_real = None, real  # a new level or fade: measure it again
        real, reference = real.reshape(len(real), -1), reference.reshape(len(reference), -1)
        if self.reference_recall is None:
            self.reference_recall = scores.precision_recall(real, reference)["recall"]
        samples, _ = suite.sample(self.model, self.num_samples)
        fake = scores.precision_recall(real, samples.reshape(len(samples), -1))
        diversity = fake["recall"] / max(self.reference_recall, 1e-6)
        if logs is not None:
            logs["diversity"] = diversity
        if diversity < self.min_diversity and fake["precision"] > fake["recall"]:
            # Advise only the minibatch features D lacks.
            present = {type(layer) for layer in self.model.discriminator.layers}
            minibatch = [
                advice
                for layer, advice in [
                    (MinibatchStdDev, "minibatch standard deviation (model.minibatch_stddev=true)"),
                    (MinibatchDiscrimination, "minibatch discrimination (model.minibatch_discrimination=32)"),
                ]
                if layer not in present
            ]
            self.report(
                f"Step {int(self.model.step.numpy())}: the samples are collapsing: they cover {diversity:.0%} of "
                f"what real samples cover (recall {fake['recall']:.2f} vs {self.reference_recall:.2f}) while "
                f"staying near the data (precision {fake['precision']:.2f}): mode collapse. Helps: "
                + "".join(f"{advice}, " for advice in minibatch)
                + "a gradient penalty or R1 (train.gradient_penalty, train.r1), "
                "a lower G learning rate (train.g_learning_rate).",
                int(self.model.step.numpy()),
            )
