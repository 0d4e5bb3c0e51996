"""Walking the latent space: great-circle interpolation and DCGAN's vector arithmetic (Radford et al. 2016).

With z ~ N(0, I) in d dimensions, almost all mass lies near the sphere of radius sqrt(d); straight lines
between two z pass through the improbable centre, great circles stay on the shell (White 2016,
"Sampling Generative Networks").
"""

import numpy as np


def slerp(z0, z1, t):
    """Spherical interpolation from `z0` (t=0) to `z1` (t=1) along the great circle, radii interpolated linearly.

    Antipodal endpoints lie on every great circle through both; the path then takes the one through the
    coordinate axis least aligned with `z0`, where the general formula would divide zero by zero."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    r0, r1 = np.linalg.norm(z0), np.linalg.norm(z1)
    cos = np.clip(np.dot(z0 / r0, z1 / r1), -1.0, 1.0)
    omega = np.arccos(cos)
    t = np.asarray(t, np.float64)[:, None]
    if omega < 1e-6:
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    if np.pi - omega < 1e-6:
        axis = np.eye(len(z0))[np.argmin(np.abs(z0))]
        across = axis - np.dot(axis, z0 / r0) * z0 / r0  # Gram-Schmidt: a direction perpendicular to z0
        direction = np.cos(t * np.pi) * z0 / r0 + np.sin(t * np.pi) * across / np.linalg.norm(across)
        return (direction * ((1 - t) * r0 + t * r1)).astype(np.float32)
    direction = (np.sin((1 - t) * omega) * z0 / r0 + np.sin(t * omega) * z1 / r1) / np.sin(omega)
    return (direction * ((1 - t) * r0 + t * r1)).astype(np.float32)


def interpolation_latents(z0, z1, steps):
    """`steps` latent vectors on the great circle from `z0` to `z1`, both included."""
    return slerp(z0, z1, np.linspace(0.0, 1.0, steps))


def vector_arithmetic(positive_a, negative, positive_b):
    """mean(a) - mean(negative) + mean(b) of three sets of latent vectors: "smiling woman - woman + man"."""
    return (np.mean(positive_a, axis=0) - np.mean(negative, axis=0) + np.mean(positive_b, axis=0)).astype(np.float32)
