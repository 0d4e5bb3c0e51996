"""Evaluation of generators: mode coverage of 2-D mixtures (more metrics join here)."""

from tfgan_zoo.metrics.mixture import mode_coverage, moment_errors
