"""`GAN`: the one Keras model, and the one `train_step`, that every family of the zoo trains with.

Families differ only by their networks and by what reaches them: `x` or `(x, labels)` batches, labels
passed to both networks when `num_classes > 0`; a GAN with continuous conditions (e.g. a light curve's
amplitude and period) trains on `(x, {"label": labels, name: values, ...})` batches and passes the
conditions, scaled from their trained ranges to [-1, 1], to both networks beside the labels. The update
logic, the loss families and the stabilising tricks live here once, as options of `compile`.

Randomness is stateless and keyed by `(seed, step)`, and every random tensor is drawn for the
global batch and sliced per replica, so a run resumed from a checkpoint and a run under
`tf.distribute` draw exactly the noise an uninterrupted single-device run draws.

On small data D sees every batch augmented (`augment`: DiffAugment, or ADA with its probability p a
non-trainable weight of the GAN, in checkpoints and `.keras` files but not in the generators).
"""

import warnings

import keras
import tensorflow as tf

from tfgan_zoo import augment as augment_lib
from tfgan_zoo import distribute, losses, paths, sampling

# Distinct streams of randomness within one step, folded into the (seed, step) key.
_LATENT, _ALPHA, _INSTANCE_NOISE, _LABEL_NOISE, _LABEL_FLIP, _GENERATOR_LATENT, _AUGMENT = range(7)


def _global_mean(per_example):
    """Mean of a per-example value over the global batch, summed across replicas."""
    total = tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return total
    return context.all_reduce(tf.distribute.ReduceOp.SUM, total)


def _global_norm(gradients):
    """Norm of the gradient of the global batch: each replica holds its share, so they are summed first.
    Sparse gradients (`tf.IndexedSlices` of embeddings) are densified, which sums the rows of repeated labels.

    Under replication this costs one all-reduce besides the optimizer's; on one device, none.
    """
    gradients = [tf.convert_to_tensor(gradient) for gradient in gradients if gradient is not None]
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
    return tf.linalg.global_norm(gradients)


def _apply(optimizer, gradients, variables):
    """Applies `gradients` of a loss that `optimizer` scaled; returns their global norm, unscaled, and 1.0 when
    the update was skipped (else 0.0).

    A `LossScaleOptimizer` (mixed float16) skips an update whose gradients overflowed and halves its scale, and
    doubles the scale after `dynamic_growth_steps` good updates: normal dynamic loss scaling (Micikevicius et al.
    2018), not divergence. A skipped update has no norm (0 is returned); the others are unscaled by the scale
    of their step, read before `apply_gradients` changes it.
    """
    norm = _global_norm(gradients)
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer.apply_gradients(zip(gradients, variables))
        return norm, tf.constant(0.0)
    scale = tf.convert_to_tensor(optimizer.dynamic_scale)
    optimizer.apply_gradients(zip(gradients, variables))
    finite = tf.math.is_finite(norm)  # what the optimizer checks before it applies an update
    return tf.where(finite, norm / scale, 0.0), 1.0 - tf.cast(finite, tf.float32)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class GAN(sampling.Sampler, keras.Model):
    """A generator and a discriminator trained adversarially with `fit`.

    Args:
        generator: Keras model, `z` (or `[z, label]`) -> samples.
        discriminator: Keras model, samples (or `[samples, label]`) -> one logit per sample.
        latent_dim: size of `z`.
        num_classes: number of labels for conditional models, 0 for unconditional ones.
        ema_decay: decay of the generator's exponential moving average (Karras et al. 2018;
            Yazici et al. 2019), 0 to disable. `sample` and export use the EMA generator when present.
        seed: key of all the randomness of training.
        latent_distribution: `normal` (z ~ N(0, I)) or `spherical` (the same, projected onto the sphere
            of radius sqrt(latent_dim) where nearly all of its mass lies; White 2016).
        real_transform: optional Keras model applied to every real batch before D sees it; the progressive
            family uses it to show real images at the current resolution and fade-in.
        conditions: continuous condition name -> (min, max), the range of the training data's values. Both
            networks then take a last input `[N, len(conditions)]`: the values in this order, scaled to [-1, 1].
        augment: augmentation of every batch D sees, real and generated, in both players' steps and the
            penalties (`tfgan_zoo.augment`): `none`, `diffaugment` (every augmentation of the policy on every
            example; Zhao et al. 2020) or `ada` (each with probability p, adapted to D's overfitting; Karras et
            al. 2020).
        augment_policy: the augmentations, a comma list or a sequence of `augment.POLICIES` names for the
            generator's kind of samples; they apply in the order of `augment.AUGMENTATIONS`.
        ada_target: `ada`: the r_t = E[sign(D(real))] that p steers to.
        ada_kimg: `ada`: thousands of real images for p to go from 0 to 1 (`augment.ada_probability`).
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        num_classes=0,
        ema_decay=0.0,
        seed=0,
        latent_distribution="normal",
        real_transform=None,
        conditions=None,
        augment="none",
        augment_policy="color,translation,cutout",
        ada_target=0.6,
        ada_kimg=100,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.ema_decay = float(ema_decay)
        self.seed = int(seed)
        if latent_distribution not in ("normal", "spherical"):
            raise ValueError(f"latent_distribution must be normal or spherical, got {latent_distribution!r}.")
        self.latent_distribution = latent_distribution
        self.real_transform = real_transform
        self.conditions = {name: (float(low), float(high)) for name, (low, high) in (conditions or {}).items()}
        self.ema_generator = None
        if self.ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.step = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False, name="step", aggregation="only_first_replica"
        )
        if augment not in augment_lib.MODES:
            raise ValueError(f"augment must be one of {', '.join(augment_lib.MODES)}, got {augment!r}.")
        self.augment = augment
        self.augment_policy = (
            augment_lib.check_policy(augment_policy, generator.output_shape[1:]) if augment != "none" else ()
        )
        self.ada_target, self.ada_kimg = float(ada_target), float(ada_kimg)
        self.augment_probability = None  # ADA's p, the same on every replica
        if augment == "ada":
            self.augment_probability = self.add_weight(
                shape=(),
                initializer="zeros",
                trainable=False,
                name="augment_probability",
                aggregation="only_first_replica",
            )
        self.built = True

    def compile(
        self,
        d_optimizer,
        g_optimizer,
        loss="non_saturating",
        *,
        gradient_penalty=0.0,
        r1=0.0,
        drift=0.0,
        penalty_interval=1,
        d_steps=1,
        label_smoothing=0.0,
        label_noise=0.0,
        label_flip=0.0,
        instance_noise=0.0,
        instance_noise_decay_steps=0,
        class_loss_weight=1.0,
        **kwargs,
    ):
        """Configures the adversarial update.

        Args:
            d_optimizer, g_optimizer: Keras optimizers of the discriminator and the generator.
            loss: a name in `losses.NAMES`, or a loss object with per-example `discriminator(real_logits,
                fake_logits[, real_targets, fake_targets])` and `generator(fake_logits)` functions (`losses.get`);
                `.keras` files need it to be a registered Keras serializable.
            gradient_penalty: weight of the WGAN-GP penalty (10 in Gulrajani et al. 2017).
            r1: weight gamma of the R1 penalty on real data (Mescheder et al. 2018).
            drift: weight of the drift penalty (1e-3 in Karras et al. 2018).
            penalty_interval: the gradient penalty and R1 are computed on every `penalty_interval`-th discriminator
                update only, weighted `penalty_interval` times: the loss weighting of lazy regularization (Karras
                et al. 2020), without its rescaling of Adam. Their double backward pass is a large share of a
                penalized step's cost.
            d_steps: discriminator updates per generator update (5 in WGAN), each on its own slice
                of `batch_size` real examples: batches fed to `fit` hold `d_steps * batch_size`.
            label_smoothing: real targets become `1 - label_smoothing` (one-sided, Salimans et al. 2016).
            label_noise: real targets drawn from `U[1 - smoothing - label_noise, 1 - smoothing]`, fake
                targets from `U[0, label_noise]` (soft noisy labels, the "GAN hacks").
            label_flip: probability that an example's real and fake targets swap.
            instance_noise: stddev of Gaussian noise added to every input of D (Sonderby et al. 2017),
                decaying linearly to 0 over `instance_noise_decay_steps` steps (0: no decay).
            class_loss_weight: weight of the auxiliary classification loss of AC-GAN discriminators
                (those with a second, class-logits output), in both players' losses (Odena et al. 2017).
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`).
        """
        super().compile(**kwargs)
        self._gan_compile_config = {
            "d_optimizer": keras.optimizers.serialize(d_optimizer),
            "g_optimizer": keras.optimizers.serialize(g_optimizer),
            "loss": loss,
            "gradient_penalty": gradient_penalty,
            "r1": r1,
            "drift": drift,
            "penalty_interval": penalty_interval,
            "d_steps": d_steps,
            "label_smoothing": label_smoothing,
            "label_noise": label_noise,
            "label_flip": label_flip,
            "instance_noise": instance_noise,
            "instance_noise_decay_steps": instance_noise_decay_steps,
            "class_loss_weight": class_loss_weight,
        }
        # Keras builds `self.optimizer` over all variables; the two optimizers below are the ones used.
        self.optimizer = None
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = losses.get(loss)
        if (label_smoothing or label_noise or label_flip) and not self.gan_loss.uses_targets:
            raise ValueError(
                f"Label smoothing, noise and flipping need a loss with targets; {loss!r} has none. "
                "Use minimax, non_saturating or least_squares, or set them to 0."
            )
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if penalty_interval < 1:
            raise ValueError(f"penalty_interval must be >= 1, got {penalty_interval}.")
        if penalty_interval > 1 and not (gradient_penalty or r1):
            raise ValueError(
                f"penalty_interval {penalty_interval} spaces out the gradient penalty and R1, and neither is on: "
                "set gradient_penalty or r1, or leave penalty_interval at 1."
            )
        self.gradient_penalty_weight = float(gradient_penalty)
        self.r1_weight = float(r1)
        self.drift_weight = float(drift)
        self.penalty_interval = int(penalty_interval)
        self.d_steps = int(d_steps)
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)
        self.label_flip = float(label_flip)
        self.instance_noise = float(instance_noise)
        self.instance_noise_decay_steps = int(instance_noise_decay_steps)
        self.class_loss_weight = float(class_loss_weight)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        names = [
            "d_loss",
            "g_loss",
            "d_real",
            "d_fake",
            "d_real_accuracy",
            "d_fake_accuracy",
            "d_grad_norm",
            "g_grad_norm",
        ]
        names += [
            name for name, weight in [("gradient_penalty", gradient_penalty), ("r1", r1), ("drift", drift)] if weight
        ]
        if len(self.discriminator.outputs) == 2:
            names.append("class_loss")
        if self.augment_probability is not None:
            names += ["ada_p", "ada_r_t"]  # the p each step augmented with, and r_t (`augment.ada_probability`)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        if any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (d_optimizer, g_optimizer)):
            # Updates of D and G skipped by loss scaling since the epoch began.
            self.trackers["loss_scale_skips"] = keras.metrics.Sum(name="loss_scale_skips")

    @property
    def metrics(self):
        return list(getattr(self, "trackers", {}).values())

    # ----- inputs of the networks: the hooks through which families differ -----

    def _network_inputs(self, first, labels, conditions):
        """`first` (z or samples), then the labels when conditional, then the continuous conditions."""
        inputs = [first] + ([labels] if self.num_classes else [])
        if self.conditions:
            if set(conditions) != set(self.conditions):
                raise ValueError(
                    f"This GAN takes the continuous conditions {', '.join(self.conditions)}; got "
                    f"{', '.join(conditions) or 'none'}. Pass one value per sample for each."
                )
            inputs.append(
                tf.stack(
                    [
                        sampling.scaled_condition(tf.cast(conditions[name], tf.float32), value_range)
                        for name, value_range in self.conditions.items()
                    ],
                    axis=1,
                )
            )
        return inputs if len(inputs) > 1 else first

    def _generator_inputs(self, z, labels, **conditions):
        return self._network_inputs(z, labels, conditions)

    def _discriminate(self, samples, labels, conditions, training):
        """(logits, class logits or None): AC-GAN discriminators also classify their input."""
        outputs = self.discriminator(self._network_inputs(samples, labels, conditions), training=training)
        return tuple(outputs) if isinstance(outputs, (list, tuple)) else (outputs, None)

    @property
    def inference_generator(self):
        """The generator that samples, exports and `call` use: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        """Samples for `z` (or `[z, label, conditions]`, as `_generator_inputs` makes them) from the inference
        generator, so `gan.predict(z)` gives what `sample` and the exported `serving_default` give."""
        return self.inference_generator(inputs, training=training)

    # ----- the update -----

    def instance_noise_stddev(self, step=None):
        """Stddev of the instance noise at `step` (default: the current step)."""
        step = tf.cast(self.step if step is None else step, tf.float32)
        if not self.instance_noise_decay_steps:
            return tf.constant(self.instance_noise, tf.float32)
        return self.instance_noise * tf.maximum(0.0, 1.0 - step / self.instance_noise_decay_steps)

    def _seed(self, stream, d_step=0):
        key = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.step, tf.int64)])
        return tf.random.experimental.stateless_fold_in(key, stream * 1000 + d_step)

    def _augmented(self, samples, seed):
        """`samples` as D sees them: through the augmentations of the policy, each on each example always
        (DiffAugment) or with ADA's probability p."""
        if self.augment == "none":
            return samples
        probability = 1.0 if self.augment == "diffaugment" else self.augment_probability
        return augment_lib.augment(samples, self.augment_policy, seed, probability)

    def _with_instance_noise(self, samples, seed):
        if not self.instance_noise:
            return samples
        noise = distribute.replica_rows(
            lambda n, s: tf.random.stateless_normal([n, *samples.shape[1:]], s, dtype=samples.dtype),
            samples.shape[0],
            seed,
        )
        return samples + tf.cast(self.instance_noise_stddev(), samples.dtype) * noise

    def discriminator_targets(self, batch, d_step=0):
        """Real and fake targets per example: smoothed, noisy and flipped as configured."""
        real = tf.fill([batch], 1.0 - self.label_smoothing)
        fake = tf.zeros([batch])
        if self.label_noise:
            u = distribute.replica_rows(
                lambda n, s: tf.random.stateless_uniform([n, 2], s), batch, self._seed(_LABEL_NOISE, d_step)
            )
            real -= self.label_noise * u[:, 0]
            fake += self.label_noise * u[:, 1]
        if self.label_flip:
            flip = (
                distribute.replica_rows(
                    lambda n, s: tf.random.stateless_uniform([n], s), batch, self._seed(_LABEL_FLIP, d_step)
                )
                < self.label_flip
            )
            real, fake = tf.where(flip, fake, real), tf.where(flip, real, fake)
        return real, fake

    def _discriminator_step(self, real, labels, conditions, d_step):
        if self.real_transform is not None:
            real = self.real_transform(real)
        batch = real.shape[0]
        z = distribute.replica_rows(self.latent, batch, self._seed(_LATENT, d_step))
        fake = self.generator(self._generator_inputs(z, labels, **conditions), training=True)
        # What D sees, here and in the penalties: augmented, then noisy.
        real_in = self._with_instance_noise(
            self._augmented(real, self._seed(_AUGMENT, 2 * d_step)), self._seed(_INSTANCE_NOISE, 2 * d_step)
        )
        fake_in = self._with_instance_noise(
            self._augmented(fake, self._seed(_AUGMENT, 2 * d_step + 1)), self._seed(_INSTANCE_NOISE, 2 * d_step + 1)
        )

        def critic(samples):
            return self._discriminate(samples, labels, conditions, training=True)[0]

        with tf.GradientTape() as tape:
            real_logits, real_classes = self._discriminate(real_in, labels, conditions, training=True)
            fake_logits, fake_classes = self._discriminate(fake_in, labels, conditions, training=True)
            if self.gan_loss.uses_targets:
                real_targets, fake_targets = self.discriminator_targets(batch, d_step)
                per_example = self.gan_loss.discriminator(real_logits, fake_logits, real_targets, fake_targets)
            else:
                per_example = self.gan_loss.discriminator(real_logits, fake_logits)
            terms = {}  # weighted additions to D's loss, each also reported as a metric
            penalized = self._penalized(d_step)
            if self.gradient_penalty_weight:
                alpha = distribute.replica_rows(
                    lambda n, s: tf.random.stateless_uniform([n], s), batch, self._seed(_ALPHA, d_step)
                )
                terms["gradient_penalty"] = (
                    self.gradient_penalty_weight * self.penalty_interval,
                    self._lazily(penalized, lambda: losses.gradient_penalty(critic, real_in, fake_in, alpha), batch),
                )
            if self.r1_weight:
                terms["r1"] = (
                    self.r1_weight * self.penalty_interval,
                    self._lazily(penalized, lambda: losses.r1_penalty(critic, real_in), batch),
                )
            if self.drift_weight:
                terms["drift"] = (self.drift_weight, losses.drift_penalty(real_logits))
            if real_classes is not None:
                terms["class_loss"] = (
                    self.class_loss_weight,
                    losses.classification_loss(real_classes, labels) + losses.classification_loss(fake_classes, labels),
                )
            for weight, values in terms.values():
                per_example += weight * values
            loss = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        variables = self.discriminator.trainable_variables
        norm, skipped = _apply(self.d_optimizer, tape.gradient(loss, variables), variables)
        logs = {
            "d_loss": _global_mean(per_example),
            "d_real": _global_mean(real_logits),
            "d_fake": _global_mean(fake_logits),
            # The fractions of real and fake inputs D judges rightly.
            "d_real_accuracy": _global_mean(real_logits > self.gan_loss.boundary),
            "d_fake_accuracy": _global_mean(fake_logits < self.gan_loss.boundary),
            "d_grad_norm": norm,
            **{name: _global_mean(values) for name, (_, values) in terms.items()},
        }
        if self.augment_probability is not None:  # ADA's overfitting heuristic, on the augmented real examples
            logs["ada_r_t"] = _global_mean(tf.sign(real_logits - self.gan_loss.boundary))
        return logs, skipped

    def _penalized(self, d_step):
        """Whether discriminator update `d_step` of this train step computes the gradient penalty and R1."""
        return tf.equal((self.step * self.d_steps + d_step) % self.penalty_interval, 0)

    def _lazily(self, penalized, penalty, batch):
        # tf.cond skips the penalty's double backward pass on the updates without it.
        if self.penalty_interval == 1:
            return penalty()
        return tf.cond(penalized, penalty, lambda: tf.zeros([batch]))

    def _generator_step(self, batch, labels, conditions):
        z = distribute.replica_rows(self.latent, batch, self._seed(_GENERATOR_LATENT))
        with tf.GradientTape() as tape:
            fake = self.generator(self._generator_inputs(z, labels, **conditions), training=True)
            fake_in = self._with_instance_noise(
                self._augmented(fake, self._seed(_AUGMENT, 2 * self.d_steps)),
                self._seed(_INSTANCE_NOISE, 2 * self.d_steps),
            )
            fake_logits, fake_classes = self._discriminate(fake_in, labels, conditions, training=True)
            per_example = self.gan_loss.generator(fake_logits)
            if fake_classes is not None:
                per_example += self.class_loss_weight * losses.classification_loss(fake_classes, labels)
            loss = self.g_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        variables = self.generator.trainable_variables
        norm, skipped = _apply(self.g_optimizer, tape.gradient(loss, variables), variables)
        return {"g_loss": _global_mean(per_example), "g_grad_norm": norm}, skipped

    def _update_ema(self):
        # Warm-up so the average tracks early training: the num_updates rule of tf.train.ExponentialMovingAverage.
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        # The EMA copy is frozen (all its weights are non-trainable), so pair the weights by position.
        for average, value in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * value if value.trainable else value)

    def train_step(self, data):
        """`d_steps` discriminator updates, each on its own slice of the batch, then one generator update.

        Slice `i` holds examples `i, i + d_steps, ...` of the batch, so that when `tf.distribute`
        splits the batch into contiguous per-replica parts, every replica's slice `i` is its part
        of the single-device slice `i`.
        """
        real, given = data if isinstance(data, (tuple, list)) else (data, None)
        conditions = dict(given) if isinstance(given, dict) else {"label": given}
        labels = conditions.pop("label", None)
        if self.num_classes and labels is None:
            raise ValueError(
                "A conditional GAN (num_classes > 0) trains on (samples, labels) batches; got samples only."
            )

        def d_slices(tensor):
            if tensor is None:
                return [None] * self.d_steps
            return tf.unstack(tf.reshape(tensor, [-1, self.d_steps, *tensor.shape[1:]]), axis=1)

        condition_slices = [dict(zip(conditions, values)) for values in zip(*map(d_slices, conditions.values()))]
        skips, r_t = 0.0, 0.0
        penalties = {}  # name -> (sum, count) over the discriminator updates that computed the penalty
        for i, (real_i, labels_i, conditions_i) in enumerate(
            zip(d_slices(real), d_slices(labels), condition_slices or [{}] * self.d_steps)
        ):
            # The metrics report the last discriminator step of each train step; ADA's r_t and the penalties
            # all of them (a lazy penalty may skip the last one).
            logs, d_skipped = self._discriminator_step(real_i, labels_i, conditions_i, i)
            skips += d_skipped
            r_t += logs.get("ada_r_t", 0.0) / self.d_steps
            penalized = tf.cast(self._penalized(i), tf.float32)
            for name in ("gradient_penalty", "r1"):
                if name in logs:
                    total, count = penalties.get(name, (0.0, 0.0))
                    penalties[name] = (total + penalized * logs[name], count + penalized)
        for name, (total, count) in penalties.items():
            logs[name] = tf.math.divide_no_nan(total, count)
        g_logs, g_skipped = self._generator_step(real_i.shape[0], labels_i, conditions_i)
        logs.update(g_logs)
        if "loss_scale_skips" in self.trackers:
            logs["loss_scale_skips"] = skips + g_skipped
        if self.ema_generator is not None:
            self._update_ema()
        if self.augment_probability is not None:
            replicas, _ = distribute.replica_position()
            logs["ada_p"], logs["ada_r_t"] = tf.convert_to_tensor(self.augment_probability), r_t
            images = self.d_steps * real_i.shape[0] * replicas  # the real examples of this step, all replicas'
            self.augment_probability.assign(
                augment_lib.ada_probability(self.augment_probability, r_t, self.ada_target, images, self.ada_kimg)
            )
        self.step.assign_add(1)
        # A skipped update has no gradient norm, so it is left out of the norm's average; a lazy penalty is
        # averaged over the updates that computed it.
        weights = {
            "d_grad_norm": 1.0 - d_skipped,
            "g_grad_norm": 1.0 - g_skipped,
            **{name: count for name, (_, count) in penalties.items()},
        }
        for name, value in logs.items():
            self.trackers[name].update_state(value, sample_weight=weights.get(name))
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces the step outputs of multi-worker runs along axis 0, which scalars lack;
            # epoch logs read the trackers themselves and stay scalars.
            results = {name: value[None] for name, value in results.items()}
        return results

    # ----- sampling -----

    def generate(self, z, labels=None, conditions=None, use_ema=True):
        """Samples for latent vectors `z` (and `labels` when conditional, and `conditions` {name: value or
        values} for each continuous condition), from the EMA generator unless `use_ema` is false."""
        generator = self.inference_generator if use_ema else self.generator
        z, labels, conditions = self.checked_inputs(z, labels, conditions)
        return generator(self._generator_inputs(z, labels, **conditions), training=False)

    # ----- serialization -----

    @classmethod
    def from_preset(cls, name_or_path):
        """The whole trainable GAN of a zoo entry, to fine-tune with `fit` (on your own data, say).

        Reads the entry's `gan.keras`: G, its EMA copy, D and the run's compile settings, compiled with fresh
        optimizers (the file holds no optimizer moments). `predict(z)` gives the entry's `serving_default`.

        Args:
            name_or_path: an entry name on the search path (`paths.resolve`) or an entry folder.
        """
        path = paths.keras_file(name_or_path)
        with warnings.catch_warnings():
            # Keras says it skips the optimizers' variables: the lean file has none, by design.
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            gan = keras.models.load_model(path)
        if not isinstance(gan, cls):
            raise ValueError(f"{path} holds a {type(gan).__name__}, not a {cls.__name__}.")
        return gan

    def save(self, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
        """`keras.Model.save`; `include_optimizer=False`, which Keras 3 ignores for `.keras` files, leaves out the
        optimizers' moments: a fine-tuning copy of half the size that loads compiled, with fresh optimizers."""
        model = self
        if not include_optimizer and self.compiled:
            model = GAN.from_config(self.get_config())
            model.set_weights(self.get_weights())
            model._gan_compile_config = self._gan_compile_config  # compile settings without optimizer state
        keras.Model.save(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
            "latent_distribution": self.latent_distribution,
            "real_transform": None
            if self.real_transform is None
            else keras.saving.serialize_keras_object(self.real_transform),
            "conditions": {name: list(bounds) for name, bounds in self.conditions.items()},
            "augment": self.augment,
            "augment_policy": list(self.augment_policy),
            "ada_target": self.ada_target,
            "ada_kimg": self.ada_kimg,
        }

    def get_compile_config(self):
        config = getattr(self, "_gan_compile_config", None)
        if config is None or isinstance(config["loss"], str):
            return config
        return {**config, "loss": keras.saving.serialize_keras_object(config["loss"])}

    def compile_from_config(self, config):
        config = dict(config)
        if isinstance(config["loss"], dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        for name in ("d_optimizer", "g_optimizer"):
            config[name] = keras.optimizers.deserialize(config[name])
        self.compile(**config)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("generator", "discriminator", "real_transform"):
            if config.get(name) is not None:
                config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
