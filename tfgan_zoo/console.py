"""The command line's stderr without TensorFlow's C++ log lines that a user cannot act on.

TensorFlow 2.21 logs through absl before `absl::InitializeLog()` is called, which ignores `TF_CPP_MIN_LOG_LEVEL`,
so its start-up lines (oneDNN, CUDA drivers, CPU features, cuInit) and XLA's notes can only be dropped where they
land: file descriptor 2. Imports nothing heavy, since it must run before TensorFlow loads.
"""

import atexit
import os
import re
import sys
import threading

# C++ info and warning lines (absl's format, and TensorFlow's older one), the cuInit error of a machine without a
# GPU, absl's note on its own initialisation, and the CPU-feature line's continuation.
NOISE = re.compile(
    rb"[IW]\d{4} [\d:.]+ +\d+ [\w.]+\.(?:cc|h):\d+\]"
    rb"|\d{4}-\d\d-\d\d [\d:.]+: [IW] "
    rb"|E\d{4} .*cuInit"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: "
)
# A failed type inference (TensorFlow's note on its own lowering of `tf.switch_case` gradients, which the progressive
# family's levels use) goes on over a protobuf dump, to the line that names the node.
TYPE_INFERENCE = b"type_inference.cc:"
TYPE_INFERENCE_END = b"\twhile inferring type of node"


def kept_lines(lines):
    """`lines` without the `NOISE` ones and the continuations of a type inference note."""
    in_note = False
    for line in lines:
        if in_note:
            in_note = not line.startswith(TYPE_INFERENCE_END)
        elif NOISE.match(line):
            in_note = TYPE_INFERENCE in line
        else:
            yield line


def filter_stderr():
    """Routes file descriptor 2 through a thread that passes on its `kept_lines` (Python's log, warnings,
    errors); restored at exit, after the last line is out."""
    original = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def forward():
        with os.fdopen(read, "rb") as pipe:
            for line in kept_lines(pipe):
                os.write(original, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's write end: the thread reads to the end and stops
        thread.join(timeout=5)

    atexit.register(restore)
