"""JUnit XML: a suite per environment, a test case per rule and subject, each named once.

Test case names are unique within their suite (CI systems merge cases of the same
name): ``RULE address``, with the spec path added when one rule judges one address
from two places. Each case carries ``file`` and ``line`` (the spec), which GitLab,
Jenkins and most JUnit viewers link.
"""

from __future__ import annotations

from itertools import groupby

from batchplane.policy.findings import Finding, Outcome
from batchplane.policy.reports import environment_label

Case = tuple[str, str, str, str, Finding | None]


def _names(members: list[Case]) -> list[str]:
    base = [f"{rule} {address or spec_path}".strip() for _, rule, address, spec_path, _ in members]
    seen: dict[str, int] = {}
    for name in base:
        seen[name] = seen.get(name, 0) + 1
    names: list[str] = []
    used: set[str] = set()
    for plain, (_, _, address, spec_path, _) in zip(base, members, strict=True):
        name = f"{plain} ({spec_path})" if seen[plain] > 1 and address else plain
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name} #{n}", n + 1
        used.add(unique)
        names.append(unique)
    return names


def to_junit(outcome: Outcome, spec_uri: str) -> str:
    import xml.etree.ElementTree as ET

    cases: list[Case] = [(p.environment, p.id, p.address, p.spec_path, None) for p in outcome.passed]
    cases += [(f.environment, f.id, f.address, f.spec_path, f) for f in outcome.findings]
    cases.sort(key=lambda c: (c[0], c[1], c[2], c[3]))
    root = ET.Element("testsuites", name="batchplane check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for environment, group in groupby(cases, key=lambda c: c[0]):
        members = list(group)
        suite_name = environment_label(environment)
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        counts = {"tests": len(members), "failures": 0, "skipped": 0}
        for (_, rule, _, spec_path, finding), name in zip(members, _names(members), strict=True):
            case = ET.SubElement(suite, "testcase", classname=f"{suite_name}.{rule}", name=name, file=spec_uri)
            if finding is None:
                continue
            if finding.line is not None:
                case.set("line", str(finding.line))
            if finding.waived:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"waived: {finding.waiver_reason or ''}".strip())
            else:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=finding.message, type=finding.severity)
                where = f"{spec_uri}:{finding.line}" if finding.line else spec_uri
                failure.text = f"{where}: {spec_path}: {finding.message}"
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
