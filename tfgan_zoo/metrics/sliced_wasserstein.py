"""Sliced Wasserstein distance between image sets, as Karras et al. (2018, PGGAN) report it.

Each image is split into a Laplacian pyramid (TF-GAN's `laplacian_pyramid`, which matches OpenCV's and
PGGAN's); at each level, random 7x7 patches become descriptors, normalized per channel over the whole
set, and the distance between the real and fake descriptor sets is the mean 1-D Wasserstein-1 distance
of their projections on random unit directions. Figures are x1000, per level (fine detail first) and
averaged over levels, as in PGGAN's tables.

TF-GAN's own `sliced_wasserstein_distance` is not used as a whole: it normalizes each patch on its own
(PGGAN normalizes each channel over the set), takes RGB only, and draws its patches and directions from
global random state. Here one `seed` fixes them, so two calls on the same images agree exactly.
"""

import numpy as np

from tfgan_zoo import tfgan_compat

# Projections sorted at once: bounds memory to `descriptors x _DIRECTIONS_PER_CHUNK` floats.
_DIRECTIONS_PER_CHUNK = 32


def pyramid_resolutions(size, min_resolution=8):
    """Resolutions of the Laplacian levels of `size`-pixel images: halving while even and >= `min_resolution`.

    PGGAN goes down to 16 px on its 1024-px faces; the default 8 px gives 28-px images two levels (28, 14).
    """
    resolutions = [size]
    while resolutions[-1] % 2 == 0 and resolutions[-1] // 2 >= min_resolution:
        resolutions.append(resolutions[-1] // 2)
    return resolutions


def sliced_wasserstein_distance(
    real_images, fake_images, *, min_resolution=8, patches_per_image=128, patch_size=7, num_directions=512, seed=0
):
    """PGGAN's SWD (x1000) between two equal-sized sets of square NHWC images, any number of channels.

    PGGAN's protocol: 128 patches of 7x7 per image per level, 512 directions (4 repeats of 128),
    16,384 images at 1024 px. The figure depends on the number of images: compare equal counts only.

    Returns:
        A dict: `swd` (mean over levels) and `swd_<resolution>` per level, e.g. `swd_28`, `swd_14`.
    """
    real_images, fake_images = np.asarray(real_images, np.float32), np.asarray(fake_images, np.float32)
    if real_images.ndim != 4 or real_images.shape != fake_images.shape or real_images.shape[1] != real_images.shape[2]:
        raise ValueError(
            "sliced_wasserstein_distance needs two sets of square NHWC images of the same shape and "
            f"count, got {real_images.shape} and {fake_images.shape}."
        )
    resolutions = pyramid_resolutions(real_images.shape[1], min_resolution)
    if resolutions[-1] < patch_size:
        raise ValueError(f"Images of {real_images.shape[1]} px are smaller than the {patch_size}-px patches.")
    real_levels, fake_levels = (_laplacian_pyramid(x, len(resolutions)) for x in (real_images, fake_images))
    result = {}
    for resolution, real, fake in zip(resolutions, real_levels, fake_levels):
        rng = np.random.default_rng([seed, resolution])
        real = _descriptors(real, patches_per_image, patch_size, rng)
        fake = _descriptors(fake, patches_per_image, patch_size, rng)
        directions = rng.standard_normal((real.shape[1], num_directions)).astype(np.float32)
        result[f"swd_{resolution}"] = 1e3 * sliced_wasserstein(real, fake, directions)
    return {"swd": float(np.mean(list(result.values()))), **result}


def sliced_wasserstein(a, b, directions):
    """Mean over `directions` [D, M] (normalized here) of the 1-D Wasserstein-1 distance of the projections.

    With equal sample counts, the 1-D distance between two empirical distributions is the mean absolute
    difference of their sorted values.
    """
    directions = directions / np.linalg.norm(directions, axis=0, keepdims=True)
    total = 0.0
    for start in range(0, directions.shape[1], _DIRECTIONS_PER_CHUNK):
        chunk = directions[:, start : start + _DIRECTIONS_PER_CHUNK]
        projected_a = np.sort((a @ chunk).T, axis=1)
        projected_b = np.sort((b @ chunk).T, axis=1)
        total += np.abs(projected_a - projected_b).sum(dtype=np.float64)
    return float(total / (len(a) * directions.shape[1]))


def _laplacian_pyramid(images, num_levels):
    sliced_wasserstein_lib = tfgan_compat.load("python.eval.sliced_wasserstein")
    return [level.numpy() for level in sliced_wasserstein_lib.laplacian_pyramid(images, num_levels)]


def _descriptors(images, patches_per_image, patch_size, rng):
    """Random `patch_size` patches [N * patches_per_image, patch_size^2 * C], each channel normalized over the set."""
    n, height, width, channels = images.shape
    half = patch_size // 2
    count = n * patches_per_image
    image = np.repeat(np.arange(n), patches_per_image)[:, None, None]
    offsets = np.arange(-half, half + 1)
    rows = rng.integers(half, height - half, size=count)[:, None, None] + offsets[None, :, None]
    cols = rng.integers(half, width - half, size=count)[:, None, None] + offsets[None, None, :]
    patches = images[image, rows, cols]  # [count, patch, patch, C]
    patches = patches - patches.mean(axis=(0, 1, 2))
    patches = patches / np.maximum(patches.std(axis=(0, 1, 2)), 1e-8)  # constant images: no NaN
    return patches.reshape(count, -1)
