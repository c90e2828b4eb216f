"""The spec edit: the new job's entry added under ``jobs:`` as text, every other byte kept.

The entry is inserted after the last job, so comments, blank lines, quoting and
flow mappings stay as they were, in the file's own indentation. ruamel.yaml's
round trip is the fallback for the shapes a text insertion cannot handle
(``jobs: {}``, ``jobs: ~``); the result is verified either way.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from batchplane.scaffold.choose import NewJob, ScaffoldError


def _plain(value: str) -> str:
    """A YAML scalar: plain when PyYAML (the loader, YAML 1.1) reads it back as this string, else quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_-]*", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def entry_lines(job: NewJob, indent: int, step: int, dash: int) -> list[str]:
    """The spec entry as block YAML in the file's own indentation."""
    entry = job.entry()
    pad = " " * (indent + step)
    lines = [
        f"{' ' * indent}{_plain(job.name)}:",
        f"{pad}image: {_plain(entry['image'])}",
        f"{pad}queue: {_plain(entry['queue'])}",
        f"{pad}vcpus: {entry['vcpus']}",
        f"{pad}memory_mib: {entry['memory_mib']}",
        f"{pad}command: [{', '.join(_plain(part) if part != '-m' else part for part in entry['command'])}]",
        f"{pad}timeout: {entry['timeout']}",
    ]
    retry = entry["retry"]
    if "on_exit" in retry:
        inner = " " * (indent + 2 * step)
        rule = retry["on_exit"][0]
        lines += [
            f"{pad}retry:",
            f"{inner}attempts: {retry['attempts']}",
            f"{inner}on_exit:",
            f"{' ' * (indent + 2 * step + dash)}- {{on_status_reason: {json.dumps(rule['on_status_reason'])}, "
            f"action: {rule['action']}}}",
        ]
    else:
        lines.append(f"{pad}retry: {{attempts: {retry['attempts']}}}")
    lines.append(f"{pad}interruptible: {'true' if entry['interruptible'] else 'false'}")
    statement = entry["statements"][0]
    actions, resources = json.dumps(statement["actions"]), json.dumps(statement["resources"])
    lines += [
        f"{pad}statements:",
        f"{' ' * (indent + step + dash)}- {{effect: {statement['effect']}, "
        f"actions: {actions}, resources: {resources}}}",
    ]
    return lines


def add_job(text: str, job: NewJob) -> str:
    """``text`` with the job appended under ``jobs:``, the rest of the file unchanged (verified)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        edited = _insert(text, job, newline)
    except _CannotInsert:
        edited = None
    if edited is None or not _adds_exactly(text, edited, job):
        edited = _round_trip(text, job)
        if not _adds_exactly(text, edited, job):
            raise ScaffoldError(
                "cannot add the job to the spec without changing the rest of it; add this entry under jobs: "
                "by hand and run `batchplane render`:\n" + "\n".join(entry_lines(job, 2, 2, 2))
            )
    return edited


class _CannotInsert(Exception):
    """The text has a shape the insertion does not handle."""


def _insert(text: str, job: NewJob, newline: str) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise _CannotInsert
    keys = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "jobs"]
    dash = _dash_offset(root, text)
    if not keys:
        block = newline.join(["jobs:", *entry_lines(job, 2, 2, dash)]) + newline
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        return text + separator + block
    jobs_key, jobs = keys[0]
    if not isinstance(jobs, yaml.MappingNode) or jobs.flow_style or not jobs.value:
        raise _CannotInsert
    first_key = jobs.value[0][0]
    indent = first_key.start_mark.column
    step = indent - jobs_key.start_mark.column
    if step <= 0:
        raise _CannotInsert
    position = _end_of_line(text, _deepest_last(jobs).end_mark.index)
    position = _skip_own_comments(text, position, indent)
    lines = entry_lines(job, indent, step, dash)
    if _blank_between_jobs(text, jobs):
        lines.insert(0, "")
    block = newline.join(lines) + newline
    before = text[:position]
    if before and not before.endswith(("\n", "\r")):
        before += newline
    return before + block + text[position:]


def _deepest_last(node: yaml.Node) -> yaml.Node:
    """The node whose text ends a block collection: its last value, recursively."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _end_of_line(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (after its line break); ``index`` itself at a line start."""
    if index == 0 or text[index - 1] == "\n":
        return index
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _skip_own_comments(text: str, position: int, indent: int) -> int:
    """Past comment lines indented deeper than the job names: they belong to the last job."""
    while position < len(text):
        end = text.find("\n", position)
        line = text[position : len(text) if end < 0 else end + 1]
        stripped = line.lstrip(" ")
        if not stripped.startswith("#") or len(line) - len(stripped) <= indent:
            break
        position += len(line)
    return position


def _blank_between_jobs(text: str, jobs: yaml.MappingNode) -> bool:
    """Whether the file separates job entries with a blank line (judged on the second entry)."""
    if len(jobs.value) < 2:
        return False
    lines = text.splitlines()
    line = jobs.value[1][0].start_mark.line
    return line > 0 and not lines[line - 1].strip()


def _dash_offset(root: yaml.Node, text: str) -> int:
    """How far the file indents ``- `` under its key (0 or 2), from the first block sequence in it."""
    lines = text.splitlines()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, key_column = stack.pop(0)
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, key.start_mark.column) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
            item = node.value[0].start_mark
            dash: int = lines[item.line].rfind("-", 0, item.column) if item.line < len(lines) else -1
            return max(0, dash - key_column) if dash >= 0 else 2
    return 2


def _round_trip(text: str, job: NewJob) -> str:
    """The fallback: ruamel.yaml's round trip keeps comments, maybe not every detail of the layout."""
    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 4096
    handler.indent(mapping=2, sequence=4, offset=2)
    document = handler.load(text)
    if not isinstance(document, CommentedMap):
        raise ScaffoldError("the spec's top level is not a mapping")
    entry = CommentedMap()
    for key, value in job.entry().items():
        entry[key] = _commented(value)
    jobs = document.get("jobs")
    if not isinstance(jobs, CommentedMap) or not jobs:
        jobs = CommentedMap()
        document["jobs"] = jobs
    jobs[job.name] = entry
    stream = io.StringIO()
    handler.dump(document, stream)
    return stream.getvalue()


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _commented(v)) for k, v in value.items())
        if all(not isinstance(v, dict | list) for v in value.values()):
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_commented(v) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            sequence.fa.set_flow_style()
        return sequence
    return value


def _adds_exactly(before: str, after: str, job: NewJob) -> bool:
    """``after`` reads as ``before`` plus the job as the last entry of jobs."""
    try:
        old, new = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError:
        return False
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    old_jobs = old.pop("jobs", None) or {}
    new_jobs = new.pop("jobs", None)
    if not isinstance(old_jobs, dict) or not isinstance(new_jobs, dict):
        return False
    return old == new and list(new_jobs) == [*old_jobs, job.name] and new_jobs == {**old_jobs, job.name: job.entry()}
