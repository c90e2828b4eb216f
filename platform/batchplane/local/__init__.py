"""The embedded local AWS: a moto server, a local image registry, and roots pointed at them.

* :mod:`~batchplane.local.emulator` starts, finds and stops the moto server
  (``.batchplane/local/emulator.json``);
* :mod:`~batchplane.local.registry` does the same for the local image registry
  (``registry.json``);
* :mod:`~batchplane.local.processes` is what both share: spawning, recording
  and stopping a background process by PID;
* :mod:`~batchplane.local.accounts` prepares each account of the spec in the
  emulator and acts in it (``accounts.json``);
* :mod:`~batchplane.local.workcopy` makes the working copy of a rendered root
  that terraform runs in locally (``.batchplane/work/``).
"""
