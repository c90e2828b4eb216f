"""The new job image folder: its files, rendered from the templates in ``scaffold/templates/``.

The Dockerfile, .dockerignore and requirements.txt are the other images' own, on purpose:
one way to build every image (tests/unit/test_scaffold.py compares them). The templates
are package data, read through importlib.resources so an installed wheel finds them, and
Jinja: ``{{ name }}`` is the job name, ``{{ package }}`` its Python package; a literal
``{{``, ``{%`` or ``{#`` in a template needs Jinja's escaping. None is named with a
leading dot (``dockerignore.j2``): setuptools' package-data globs skip hidden files.
"""

from __future__ import annotations

from importlib import resources

import jinja2

from batchplane.scaffold.choose import NewJob

TEMPLATES = (
    ("Dockerfile.j2", "Dockerfile"),
    ("dockerignore.j2", ".dockerignore"),
    ("requirements.txt.j2", "requirements.txt"),
    ("README.md.j2", "README.md"),
    ("package/__init__.py.j2", "{package}/__init__.py"),
    ("package/__main__.py.j2", "{package}/__main__.py"),
    ("package/job.py.j2", "{package}/job.py"),
    ("tests/test_package.py.j2", "tests/test_{package}.py"),
    ("tests/test_container.py.j2", "tests/test_{package}_container.py"),
)
"""Each template and the path, relative to the image folder, of the file it becomes."""

TEMPLATE_DIR = resources.files("batchplane.scaffold").joinpath("templates")

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def image_files(job: NewJob) -> dict[str, str]:
    """The job image folder's files, by path relative to it."""
    values = {"name": job.name, "package": job.package}
    return {path.format(**values): _render(template, values) for template, path in TEMPLATES}


def _render(template: str, values: dict[str, str]) -> str:
    text = TEMPLATE_DIR.joinpath(template).read_text(encoding="utf-8")
    return _JINJA.from_string(text).render(values)
