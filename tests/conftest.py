"""Shared fixtures of the test suite."""

import pytest
from absl import flags

from tfgan_zoo import cli


@pytest.fixture
def run_cli(capsys):
    """Runs `tfgan-zoo <args>` in this process: returns `(exit status, stdout, stderr)`; an error's message, which
    the CLI exits with, counts as stderr."""

    def run(*args):
        flags.FLAGS.unparse_flags()
        argv = flags.FLAGS(["tfgan-zoo", *map(str, args)])
        status, message = 0, ""
        try:
            cli.main(argv)
        except SystemExit as exit_:
            status, message = (1, str(exit_.code)) if isinstance(exit_.code, str) else (exit_.code or 0, "")
        out, err = capsys.readouterr()
        return status, out, err + message

    return run
