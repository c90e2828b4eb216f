#!/usr/bin/env bash
# Run a command with a Docker engine answering and the job images' base image present;
# stop the engine afterwards only if this script started it.
#
#   scripts/with-docker.sh COMMAND [ARG]...
#
# The base image: when BATCHPLANE_BASE_IMAGE is batchplane/python-base:bookworm (the Makefile's
# default on machines that cannot pull images), scripts/base-image.sh builds it if missing.
# Set BATCHPLANE_BASE_IMAGE=python:3.12-slim (or any base your engine can pull) to skip that.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
started=no

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if ! engine_answers; then
  "$here/docker-engine.sh" start
  started=yes
fi
stop_engine() { if [[ $started == yes ]]; then "$here/docker-engine.sh" stop; fi; }
trap stop_engine EXIT

if [[ ${BATCHPLANE_BASE_IMAGE:-} == batchplane/python-base:bookworm ]]; then
  "$here/base-image.sh"
fi
"$@"
