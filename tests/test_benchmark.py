"""`tools/benchmark.py` as a user runs it: a `--variants` subset times what it names and reports it."""

import os
import pathlib
import subprocess
import sys

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_subset_of_variants_reports_the_progressive_level_and_its_counted_work():
    """Without the `keras` and `train` rows the report used to fail on their missing speeds.

    Counted forward FLOPs at 8x8 (2 per multiply-add; a level's convolutions at its side):
    G: dense 128->2048 0.524M, 4x4 conv 128->128 4.719M, to_image_4 0.004M, conv0_8 128->64 9.437M,
    conv1_8 64->64 4.719M, to_image_8 0.008M: 19.411M.
    D: from_image_8 0.008M, conv0_8 64->64 4.719M, conv1_8 64->128 9.437M, from_image_4 0.004M,
    4x4 conv 129->128 (with the stddev channel) 4.755M, dense 2048->128 0.524M, logit 0.0003M: 19.448M.
    One D and one G update per step: 4 G + 8 D = 233.2M per image.
    """
    result = subprocess.run(
        [
            sys.executable,
            "tools/benchmark.py",
            "--variants=family_progressive_8",
            "--steps=2",
            "--warmup=1",
            "--repeats=1",
            "--entry=",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("family_progressive_8 ")]
    (row,) = rows[1:]  # the families' table; the first table has the same variant's speed and runtime
    assert row[2:4] == ["-", "233.2"]  # no DCGAN row to compare with; the counted MFLOP per image
    assert result.stdout.splitlines()[-1].rstrip() == "RESULT"  # no ratio has both sides in this subset
