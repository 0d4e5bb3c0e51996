"""Evaluation of generators: scores on classifier features, TSTR, mode coverage, and a callback for `fit`.

- `scores`: Fréchet distance, KID, classifier score, improved precision/recall on features;
- `sliced_wasserstein`: PGGAN's sliced Wasserstein distance on pixels;
- `features`: the feature extractors (the zoo's Fashion-MNIST classifier, InceptionV3, any Keras model);
- `suite`: those metrics by name on embedded image sets (`embed`, `compare`, `ImageMetrics`);
- `tstr`: train on synthetic, test on real;
- `mixture`: mode coverage of 2-D Gaussian mixtures;
- `callback`: `MetricsCallback`, any of them during `fit`;
- `registry`: which way each is better and which `tfgan-zoo list` shows (`register` adds yours).

`tfgan_zoo.evaluation` puts them together in the report of `tfgan-zoo evaluate`.
"""

from tfgan_zoo.metrics.callback import MetricsCallback
from tfgan_zoo.metrics.features import EvaluatorUnavailableError, FeatureExtractor, inception_v3, load_evaluator
from tfgan_zoo.metrics.mixture import mode_coverage, moment_errors
from tfgan_zoo.metrics.registry import register
from tfgan_zoo.metrics.scores import classifier_score, frechet_distance, kernel_distance, precision_recall
from tfgan_zoo.metrics.sliced_wasserstein import sliced_wasserstein_distance
from tfgan_zoo.metrics.suite import IMAGE_METRICS, ImageMetrics, compare, embed
from tfgan_zoo.metrics.tstr import train_on_synthetic_test_on_real
