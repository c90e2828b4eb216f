"""Progress on long work: shown on a terminal with its elapsed time, never anywhere else."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

from batchplane import console
from batchplane.progress import tracker


@pytest.fixture(autouse=True)
def _default_settings() -> None:
    console.configure(quiet=False, as_json=False)


def _terminal(buffer: io.StringIO) -> Console:
    return Console(file=buffer, force_terminal=True, width=100, color_system=None)


def _run_step(target: Console, description: str, rename: str | None = None) -> None:
    shown = threading.Event()
    with tracker(target=target) as steps, steps.step(description) as describe:
        if rename is not None:
            describe(rename)
        shown.wait(0.3)  # long enough for one refresh of the display


def test_a_terminal_shows_the_step_and_its_elapsed_time() -> None:
    buffer = io.StringIO()
    _run_step(_terminal(buffer), "Checkov: scanning dev")
    drawn = buffer.getvalue()
    assert "Checkov: scanning dev" in drawn
    assert "0:00:00" in drawn  # Rich's elapsed-time column


def test_a_renamed_step_shows_its_new_description() -> None:
    buffer = io.StringIO()
    _run_step(_terminal(buffer), "1234: SUBMITTED", rename="1234: RUNNING")
    assert "1234: RUNNING" in buffer.getvalue()


def test_a_step_disappears_when_it_ends() -> None:
    buffer = io.StringIO()
    target = _terminal(buffer)
    _run_step(target, "dev: apply")
    target.print("done")
    assert buffer.getvalue().rstrip().endswith("done")


def test_not_a_terminal_prints_nothing() -> None:
    buffer = io.StringIO()
    _run_step(Console(file=buffer, force_terminal=False), "dev: plan", rename="dev: still planning")
    assert buffer.getvalue() == ""


@pytest.mark.parametrize(("quiet", "as_json"), [(True, False), (False, True)])
def test_quiet_or_json_prints_nothing_on_a_terminal(quiet: bool, as_json: bool) -> None:
    console.configure(quiet=quiet, as_json=as_json)
    buffer = io.StringIO()
    _run_step(_terminal(buffer), "dev: plan")
    assert buffer.getvalue() == ""


def test_quiet_silences_notes_but_not_errors(capsys: pytest.CaptureFixture[str]) -> None:
    console.configure(quiet=True, as_json=False)
    console.note("wrote report.sarif")
    console.progress_line("aws_batch_job_queue.this: Creating...")
    console.error("something failed")
    assert capsys.readouterr().err == "error: something failed\n"
