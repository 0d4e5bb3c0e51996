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


def filter_stderr():
    """Routes file descriptor 2 through a thread that drops `NOISE` lines and passes the rest (Python's log,
    warnings, errors) on; restored at exit, after the last line is out."""
    original = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def forward():
        with os.fdopen(read, "rb") as pipe:
            for line in pipe:
                if not NOISE.match(line):
                    os.write(original, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's write end: the thread reads to the end and stops
        thread.join(timeout=5)

    atexit.register(restore)
