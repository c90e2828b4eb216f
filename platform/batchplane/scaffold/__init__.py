"""``jobs new``: a job image folder and its spec entry, added all or nothing.

Everything is decided and checked in memory first: the name, the queue (``choose``),
the edited spec text (``spec_edit``, parsed like ``validate`` does), the spec rules of
the policy gate, and the rendered roots (compared with disk, which refuses foreign
files). Only then are the image folder (``folder``, from the files in ``templates/``),
``platform.yaml`` and ``environments/`` written (``transaction``); a failure while
writing restores what was there before. ``new_job`` runs the steps in that order.
"""
