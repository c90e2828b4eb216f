"""Checkov over the rendered roots and plans, in process, failing closed.

- :mod:`.scan`: the scans (roots, a plan) and their findings (``BP-TF-001``, ``BP-TF-002``);
- :mod:`.filters`: what a scan keeps of Checkov's verdicts (reviewed inline skips, absent modules);
- :mod:`.severity`: batchplane's severities for Checkov's checks;
- :mod:`.sourcemap`: where a finding on a Terraform address is shown in the spec;
- :mod:`.runtime`: Checkov imported, configured and loaded with ``policies/checks/``;
- :mod:`.patches`: what batchplane changes in Checkov to scan many roots in one process.
"""
