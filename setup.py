"""The build step that puts the repository's shared trees into the package.

``modules/``, ``policies/checks/`` and ``.github/`` stay where they are (this repository is
also the example platform: its environments call ``../../modules``). A wheel, and so
``pip install .`` or ``pip install batchplane``, carries a copy of them as package data under
``batchplane/_vendor/`` (``.github`` as ``github``), which ``batchplane init`` and
``batchplane upgrade`` vendor into a platform repository. An editable install builds no
copy: :mod:`batchplane.platform_repo.bundled` then reads the repository root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# repository folder -> folder under batchplane/_vendor/
SHIPPED = {"modules": "modules", "policies/checks": "policies/checks", ".github": "github"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".terraform", ".DS_Store")


class BuildWithVendoredTrees(build_py):
    """build_py, then copy the shipped trees into the built package (not in editable mode)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        vendor = Path(self.build_lib) / "batchplane" / "_vendor"
        for source, target in SHIPPED.items():
            destination = vendor / target
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(HERE / source, destination, ignore=IGNORED)


setup(cmdclass={"build_py": BuildWithVendoredTrees})
