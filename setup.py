"""The build hook of the package's metadata in setup.cfg: a wheel carries the zoo (see `tfgan_zoo.paths`).

`build_py` copies into `tfgan_zoo/zoo/` the zoo configs, the evaluators and, of each entry in `saved_models/`,
the newest version with the entry's own files (card, README, golden outputs, lean `gan.keras`). Older versions stay
in the repository, which keeps the wheel small. An editable install reads the repository's folders instead.
"""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).parent


class BuildPyWithZoo(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = pathlib.Path(self.build_lib) / "tfgan_zoo" / "zoo"
        shutil.rmtree(target, ignore_errors=True)
        configs, models = ROOT / "zoo_configs", ROOT / "saved_models"
        if not any(configs.glob("*.yaml")) or not any(models.glob("*/model_card.json")):
            raise SystemExit(f"No zoo to package: build the wheel from a clone holding {configs} and {models}.")
        (target / "zoo_configs").mkdir(parents=True)
        for path in configs.glob("*.yaml"):
            shutil.copy2(path, target / "zoo_configs")
        shutil.copytree(models / "evaluators", target / "saved_models" / "evaluators")
        for entry in (card.parent for card in models.glob("*/model_card.json")):
            versions = [int(path.name) for path in entry.iterdir() if path.is_dir() and path.name.isdigit()]
            shutil.copytree(entry / str(max(versions)), target / "saved_models" / entry.name / str(max(versions)))
            for path in entry.iterdir():
                if path.is_file():
                    shutil.copy2(path, target / "saved_models" / entry.name)


setup(cmdclass={"build_py": BuildPyWithZoo})
