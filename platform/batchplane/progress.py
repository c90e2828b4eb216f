"""Progress on long work: a line per running step with its elapsed time, on stderr, on a terminal only.

A command opens one :func:`tracker` around its long work and wraps each step
(a Checkov scan, a root's init/plan/apply, an image build, a wait on a job) in
:meth:`Tracker.step`; steps may run in threads. Nothing is shown when stderr is
not a terminal, with ``--quiet`` or with ``--json`` (see :func:`batchplane.console.configure`):
then every call is a no-op and the output is byte for byte what it was without progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from batchplane import console

Describe = Callable[[str], None]
"""Renames the running step (e.g. ``job 1234: RUNNING``)."""


class Tracker:
    """The steps of one command; each shows while it runs, then disappears."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    @contextmanager
    def step(self, description: str) -> Iterator[Describe]:
        """Show ``description`` and its elapsed time until the block ends; yields a function that renames it."""
        progress = self._progress
        if progress is None:
            yield _ignore
            return
        task = progress.add_task(description, total=None)
        try:
            yield lambda text: _describe(progress, task, text)
        finally:
            progress.remove_task(task)


def _ignore(_text: str) -> None:
    return None


def _describe(progress: Progress, task: TaskID, text: str) -> None:
    progress.update(task, description=text)


@contextmanager
def tracker(*, target: Console | None = None) -> Iterator[Tracker]:
    """A :class:`Tracker` drawing on ``target`` (default: stderr) while the block runs.

    Draws only when ``target`` is a terminal and progress is wanted (not ``--quiet``,
    not ``--json``); anything printed on the same console meanwhile goes above it.
    """
    shown = target if target is not None else console.err
    if not shown.is_terminal or not console.settings.progress:
        yield Tracker(None)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=shown,
        transient=True,
        redirect_stdout=False,  # results stay on stdout
    )
    with progress:
        yield Tracker(progress)
