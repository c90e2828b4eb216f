#!/usr/bin/env bash
# The main job, end to end on one machine (what `make demo` runs, inside scripts/with-docker.sh):
# start the local AWS and registry, `up` dev (images built, pushed, pinned; Terraform applied),
# upload the sample CSV, run csv-ingest, print its logs and the rows it wrote to DynamoDB, then
# run the pipeline `nightly` (when the spec has it) and show its steps.
# Stops the local AWS and registry afterwards if it started them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${BIN:-.venv/bin}
env=${DEMO_ENV:-dev}
started=$("$bin/batchplane" local status --json | grep -q '"running": true' && echo no || echo yes)
stop_local() { if [[ $started == yes ]]; then "$bin/batchplane" local stop; fi; }
trap stop_local EXIT

step() { printf '\n==> %s\n' "$*"; }
begin=$SECONDS
step "batchplane validate && batchplane render"
"$bin/batchplane" validate
"$bin/batchplane" render
step "batchplane local start"
"$bin/batchplane" local start
step "batchplane up --env $env --local"
"$bin/batchplane" up --env "$env" --local
step "upload the sample CSV"
"$bin/python" scripts/demo_data.py seed "$env"
step "batchplane jobs submit csv-ingest --env $env --local --wait"
# --json: the final status on stdout; progress goes to stderr. A FAILED job exits 5 here.
result=$("$bin/batchplane" jobs submit csv-ingest --env "$env" --local --wait --json)
job_id=$("$bin/python" -c 'import json, sys; print(json.load(sys.stdin)["job_id"])' <<<"$result")
step "batchplane jobs logs $job_id --env $env --local"
"$bin/batchplane" jobs logs "$job_id" --env "$env" --local
step "the rows csv-ingest wrote"
"$bin/python" scripts/demo_data.py rows "$env"
pipeline=nightly
# A spec without the pipeline (an older one, or one without a pipelines section) skips this part.
if "$bin/python" -c 'import sys; from pathlib import Path; from batchplane.spec import load_spec
sys.exit(0 if sys.argv[1] in load_spec(Path("platform.yaml")).platform.pipelines else 1)' \
  "$pipeline"; then
  step "batchplane pipelines run $pipeline --env $env --local --wait"
  # Its steps, their jobs and array children on stdout; a FAILED execution exits 5 here.
  "$bin/batchplane" pipelines run "$pipeline" --env "$env" --local --wait
  step "what the report's array children wrote"
  "$bin/python" scripts/demo_data.py reports "$env"
  ran="; pipeline $pipeline SUCCEEDED"
else
  ran="; no pipeline $pipeline in platform.yaml"
fi
printf '\ndemo: job %s SUCCEEDED%s; %d s in all\n' "$job_id" "$ran" "$((SECONDS - begin))"
