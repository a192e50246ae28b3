"""What setup.cfg cannot say: the top-level templates/, static/ and migrations/ folders ship inside the package
(dialogue_app/templates, dialogue_app/static, dialogue_app/migrations) of a built wheel, where create_app finds
them in an installed copy. The checkout keeps them at the top, where people look for them; an editable install
reads them there."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "static", "migrations")


class BuildWithTheAppsFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        for name in SHIPPED:
            shutil.copytree(ROOT / name, Path(self.build_lib) / "dialogue_app" / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))


setup(cmdclass={"build_py": BuildWithTheAppsFiles})
