"""Drawing samples: latent vectors, label checks and continuous conditions, shared by every generator.

`Sampler` is the one sampling interface of the trainable `GAN` and of a shipped `zoo.PretrainedGenerator`, so the
same seed gives the same latent vectors, labels are checked the same way and conditions left out are drawn the
same way, whichever of the two draws. The exported `seed` signature draws its latent vectors with `latent` too, so
`sample(n, seed=s)` and that signature give the same samples.
"""

import numpy as np
import tensorflow as tf

# One message for Python and the exported `seed` signature: the same refusal wherever the latent vectors are drawn.
TRUNCATION_RANGE = "truncation must be in (0, 1]: psi scales z towards 0 (1.0 = none)"
SPHERICAL_TRUNCATION = (
    "truncation is for normal latents: a spherical z lies on the sphere of radius sqrt(latent_dim) the generator was "
    "trained on, and scaling it leaves that sphere; sample with truncation 1.0"
)


def latent(n, latent_dim, distribution, seed, truncation=1.0):
    """`n` latent vectors `[n, latent_dim]` from a stateless seed of shape [2], scaled by the truncation psi.

    psi * z with psi < 1 trades diversity for fidelity: the simple form of the truncation trick of Brock et al.
    2019, which resamples the values beyond a threshold instead. Works on tensors, so graphs draw with it too.
    """
    z = tf.random.stateless_normal([n, latent_dim], seed)
    if distribution == "spherical":
        z = tf.math.l2_normalize(z, axis=1) * latent_dim**0.5
    return z * truncation


def check_truncation(truncation, distribution):
    """Refuses a truncation psi outside (0, 1], or other than 1 for spherical latents (`SPHERICAL_TRUNCATION`)."""
    if not 0 < truncation <= 1:
        raise ValueError(f"{TRUNCATION_RANGE}; got {truncation}.")
    if truncation != 1 and distribution == "spherical":
        raise ValueError(f"This generator's {SPHERICAL_TRUNCATION}.")


def scaled_condition(values, value_range):
    """A continuous condition's `values` brought from its trained `value_range` (min, max) to [-1, 1], as the
    networks read it."""
    low, high = value_range
    return (values - low) * (2 / (high - low)) - 1


def unscaled_condition(scaled, value_range):
    """The inverse of `scaled_condition`: values in the trained range from the networks' [-1, 1]."""
    low, high = value_range
    return low + (scaled + 1) * ((high - low) / 2)


def condition_values(ranges, given, n, seed):
    """The continuous conditions of a generator trained on `ranges` (name -> (min, max)) as float32 `[n]` arrays:
    the values `given` (name -> one value or `n`), and uniform draws over the trained range, keyed by `seed`,
    for those not given."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(ranges))
    if unknown:
        raise ValueError(
            f"Unknown condition(s) {', '.join(unknown)}: this generator takes "
            f"{', '.join(ranges) or 'no continuous conditions'}."
        )
    rng = np.random.default_rng([seed, len(ranges)])
    values = {}
    for name, (low, high) in ranges.items():
        drawn = rng.uniform(low, high, n)  # drawn for every name, so giving one value leaves the others' draws alone
        values[name] = np.broadcast_to(np.asarray(given.get(name, drawn), np.float32), (n,))
    return values


class Sampler:
    """`sample`, `latent` and the input checks of a generator, over its `generate(z, labels, conditions)`.

    Classes that mix it in have `latent_dim`, `latent_distribution` (`normal` or `spherical`), `num_classes`
    (0: unconditional) and `conditions` (continuous condition name -> trained (min, max)).
    """

    def generate(self, z, labels=None, conditions=None):
        """Samples for latent vectors `z`, `labels` when conditional and `conditions` {name: value or values}."""
        raise NotImplementedError

    def latent(self, n, seed, truncation=1.0):
        """`n` latent vectors from a stateless seed of shape [2], scaled by `truncation` (`latent`)."""
        check_truncation(truncation, self.latent_distribution)
        return latent(n, self.latent_dim, self.latent_distribution, seed, truncation)

    def sample(self, n, seed=0, labels=None, conditions=None, truncation=1.0, **options):
        """`n` samples as a numpy array; the same `seed` gives the same samples. Continuous conditions left out of
        `conditions` are drawn uniformly over their trained ranges (`condition_values`). `truncation` psi in (0, 1]
        scales z (1.0 = none; normal latents only). `options` go to `generate`."""
        z = self.latent(n, tf.constant([seed, 0], tf.int64), truncation)
        conditions = condition_values(self.conditions, conditions, n, seed)
        return np.asarray(self.generate(z, labels, conditions, **options))

    def check_labels(self, labels, n):
        """Labels as an int32 tensor of length `n`, or a clear error when they are missing or out of range."""
        if labels is None:
            raise ValueError(f"This generator is conditional: pass `labels`, integers in [0, {self.num_classes}).")
        labels = np.broadcast_to(np.asarray(labels), (n,)).astype("int32")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"Label {bad[0]} is out of range: this generator has {self.num_classes} classes, "
                f"so labels must be in [0, {self.num_classes - 1}]."
            )
        return tf.constant(labels)

    def checked_inputs(self, z, labels=None, conditions=None):
        """`(z, labels, conditions)` checked and as tensors: z float32 `[n, latent_dim]`, labels int32 `[n]` (None
        when unconditional), conditions {name: float32 `[n]`}, exactly the generator's conditions."""
        z = tf.convert_to_tensor(z, tf.float32)
        n = len(z)
        if self.num_classes:
            labels = self.check_labels(labels, n)
        elif labels is not None:
            raise ValueError("This generator is unconditional: it takes no labels.")
        conditions = dict(conditions or {})
        if set(conditions) != set(self.conditions):
            raise ValueError(
                f"This generator takes the continuous conditions {', '.join(self.conditions) or 'none'}; "
                f"got {', '.join(conditions) or 'none'}. Pass one value, or one per sample, for each."
            )
        conditions = {
            name: tf.constant(np.broadcast_to(np.asarray(value, np.float32), (n,)))
            for name, value in conditions.items()
        }
        return z, labels, conditions
