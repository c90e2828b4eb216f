"""What batchplane changes in Checkov for one long-lived process: each patch changes no verdict.

Checkov is built for one scan per process. batchplane scans every root (and a
plan) in one, so it parses each module file and evaluates each expression
once (:func:`apply`), and clears the state Checkov keeps between scans
(:func:`clear_caches`) before each. It also lifts Checkov's limits on the
length of a rendered value, which left a root with many jobs unexpanded.
The pinned Checkov version (pyproject) is the one these patches are written
for: they replace functions by name, in the modules that look them up.
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from pathlib import Path
from typing import Any


def apply() -> None:
    """Every patch, once per process (each one knows whether it is in place)."""
    _render_values_of_any_length()
    _memoize_hcl_parsing()
    _reuse_expression_interpreter()
    _memoize_expression_evaluation()


def clear_caches() -> None:
    """Forget what Checkov keeps between scans: its IAM policy cache is keyed by path, not content."""
    from checkov.terraform.checks.utils.base_cloudsplaining_iam_scanner import BaseTerraformCloudsplainingIAMScanner

    BaseTerraformCloudsplainingIAMScanner.policy_document_cache.clear()


_parsed: dict[tuple[str, bool, str], Any] = {}


def _memoize_hcl_parsing() -> None:
    """Parse each file once per process: the four roots share the same modules.

    Keyed by the file's content hash (not its path, the mistake of Checkov's
    IAM cache), and handing out copies, so a later scan never sees stale or
    mutated definitions. Failures are not cached: Checkov records them.
    """
    from checkov.terraform import tf_parser

    namespace = vars(tf_parser)  # the name tf_parser looks up; patched there, not in parser_utils
    original = namespace["load_or_die_quietly"]
    if getattr(original, "batchplane_memoized", False):
        return

    def load(file: Any, parsing_errors: dict[str, Exception], clean_definitions: bool = True) -> Any:
        path = os.fspath(file)
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return original(file, parsing_errors, clean_definitions)
        key = (path, clean_definitions, digest)
        if key not in _parsed:
            result = original(file, parsing_errors, clean_definitions)
            if result is None:
                return None
            _parsed[key] = result
        return copy.deepcopy(_parsed[key])

    load.batchplane_memoized = True  # type: ignore[attr-defined]
    namespace["load_or_die_quietly"] = load


def _render_values_of_any_length() -> None:
    """Let Checkov render variable values of any length (its default stops at 10,000 characters).

    Past the limit Checkov leaves a value unrendered: the ``jobs`` map of a
    root with ten or more jobs is longer, so ``module.job``'s for_each was
    never expanded and every job was judged as one unresolved template
    (CKV_BP_1 then failed it, other checks judged nothing real). The limit is
    read from the environment when Checkov is imported, so it is set on the
    modules that hold it.
    """
    from checkov.terraform.graph_builder import utils
    from checkov.terraform.graph_builder.variable_rendering import evaluate_terraform, renderer

    for module in (utils, evaluate_terraform, renderer):
        vars(module)["CHECKOV_RENDER_MAX_LEN"] = 0  # 0: no limit


_interpreters = threading.local()
_MAX_EXPRESSION = 100_000_000
"""Characters of one expression asteval may evaluate (its own ceiling)."""


def _reuse_expression_interpreter() -> None:
    """One asteval interpreter per thread instead of one per expression (~14,000 a root).

    Checkov already shares its symbol table between all of them, and asteval
    resets its errors on every evaluation, so reuse changes no result.
    """
    from checkov.terraform.graph_builder.variable_rendering import safe_eval_functions

    namespace = vars(safe_eval_functions)
    original = namespace["get_asteval"]
    if getattr(original, "batchplane_reused", False):
        return

    def get_asteval() -> Any:
        interpreter = getattr(_interpreters, "value", None)
        if interpreter is None:
            interpreter = _interpreters.value = original()
            # asteval refuses expressions over 50,000 characters: the jobs map of a root with ~45
            # jobs is longer, and module.job's for_each would stay unexpanded (see _render_values_of_any_length).
            interpreter.max_statement_length = _MAX_EXPRESSION
        return interpreter

    get_asteval.batchplane_reused = True  # type: ignore[attr-defined]
    namespace["get_asteval"] = get_asteval


_evaluated: dict[str, tuple[bool, Any]] = {}


def _memoize_expression_evaluation() -> None:
    """Evaluate each distinct Terraform expression text once per process.

    The four roots instantiate the same modules, so most of the ~14,000
    expressions of a root repeat. The evaluation is a function of the text
    (its symbols are Checkov's fixed function table); results are handed out
    as copies, and errors are replayed as the same ValueError.
    """
    from checkov.terraform.graph_builder.variable_rendering import evaluate_terraform

    namespace = vars(evaluate_terraform)
    original = namespace["evaluate"]
    if getattr(original, "batchplane_memoized", False):
        return

    def evaluate(input_str: Any) -> Any:
        if not isinstance(input_str, str):
            return original(input_str)
        if input_str not in _evaluated:
            try:
                _evaluated[input_str] = (True, original(input_str))
            except ValueError as exc:
                _evaluated[input_str] = (False, str(exc))
        ok, value = _evaluated[input_str]
        if not ok:
            raise ValueError(value)
        return copy.deepcopy(value)

    evaluate.batchplane_memoized = True  # type: ignore[attr-defined]
    namespace["evaluate"] = evaluate
