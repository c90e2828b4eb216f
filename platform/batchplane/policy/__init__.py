"""The policy gate: spec rules, Checkov over the rendered roots, waivers and reports."""
