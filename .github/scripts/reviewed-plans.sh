#!/usr/bin/env bash
# Usage: reviewed-plans.sh COMMIT BEFORE ROOT...
# Finds the plans reviewed for the roots (among ROOT...) that COMMIT changed on the default
# branch. They are the artifacts "batchplane-plan-<head sha>-<root>" of the last successful
# policy.yml run of the pull request that COMMIT merged. A changed root without one is refused:
# deploys apply reviewed plans only. Writes to $GITHUB_OUTPUT: roots (space-separated, in the
# order given; empty when COMMIT changes none), run (the policy run holding the plans), head-sha
# and pull-request. Downloads nothing (the deploy job does, where it applies them).
#
# Run by hand (GITHUB_EVENT_NAME=workflow_dispatch), it first looks for a re-plan: a successful
# policy.yml run dispatched on COMMIT itself (`gh workflow run policy.yml -f roots=...`), and
# takes the roots among ROOT... that it planned. Otherwise, as after a merge.
# Needs GH_TOKEN with actions: read and pull-requests: read.
set -euo pipefail
commit=${1:?usage: reviewed-plans.sh COMMIT BEFORE ROOT...}
before=${2:-}
shift 2
wanted=("$@")
here=$(dirname "$0")

has_plan() { # RUN NAME: whether the run holds that artifact, unexpired
  [ "$(gh api "repos/$GITHUB_REPOSITORY/actions/runs/$1/artifacts?name=$2" \
    --jq '[.artifacts[] | select(.expired | not)] | length')" != 0 ]
}

if [ "${GITHUB_EVENT_NAME:-}" = workflow_dispatch ]; then
  run=$(gh api "repos/$GITHUB_REPOSITORY/actions/workflows/policy.yml/runs?event=workflow_dispatch&status=success&head_sha=$commit&per_page=1" \
    --jq '.workflow_runs | first | .id // empty')
  if [ -n "$run" ]; then
    roots=()
    for root in "${wanted[@]}"; do
      if has_plan "$run" "batchplane-plan-$commit-$root"; then roots+=("$root"); fi
    done
    if [ "${#roots[@]}" -eq 0 ]; then
      echo "::error title=no reviewed plan::the policy run $run dispatched on $commit planned none of: ${wanted[*]}. Run: gh workflow run policy.yml -f roots='${wanted[*]}' and review the plans in its summary, then run this again."
      exit 1
    fi
    echo "re-planned on $commit by policy run $run: ${roots[*]}"
    {
      echo "roots=${roots[*]}"
      echo "run=$run"
      echo "head-sha=$commit"
      echo "pull-request="
    } >>"$GITHUB_OUTPUT"
    exit 0
  fi
fi

if [ -z "$before" ]; then # workflow_dispatch: what the commit itself changed
  before=$(git rev-parse --verify --quiet "$commit^1" || true)
fi
changed=$("$here/changed-roots.sh" "$before" "$commit")
roots=()
for root in "${wanted[@]}"; do
  if grep -qx -- "$root" <<<"$changed"; then roots+=("$root"); fi
done
if [ "${#roots[@]}" -eq 0 ]; then
  echo "::notice title=nothing to apply::$commit changes none of: ${wanted[*]}"
  echo "roots=" >>"$GITHUB_OUTPUT"
  exit 0
fi

pr=$(gh api "repos/$GITHUB_REPOSITORY/commits/$commit/pulls" \
  --jq '[.[] | select(.merged_at != null)] | first | if . == null then "" else "\(.number) \(.head.sha)" end')
if [ -z "$pr" ]; then
  echo "::error title=no reviewed plan::$commit changes ${roots[*]} but was not merged from a pull request, so no plan of it was reviewed. Revert it and open a pull request: deploys apply reviewed plans only."
  exit 1
fi
read -r number head_sha <<<"$pr"

run=$(gh api "repos/$GITHUB_REPOSITORY/actions/workflows/policy.yml/runs?event=pull_request&status=success&head_sha=$head_sha&per_page=1" \
  --jq '.workflow_runs | first | .id // empty')
if [ -z "$run" ]; then
  echo "::error title=no reviewed plan::pull request #$number (head $head_sha) has no successful policy run, so no plan of ${roots[*]} was reviewed. Re-run its policy workflow, review the plans in its comment, then re-run this deploy."
  exit 1
fi

for root in "${roots[@]}"; do
  name="batchplane-plan-$head_sha-$root"
  if ! has_plan "$run" "$name"; then
    echo "::error title=no reviewed plan::policy run $run of pull request #$number has no artifact $name (was $root planned? is it in BATCHPLANE_PLAN_ROLES? plans expire after 14 days). Re-run that policy run, review the plan in the pull request's comment, then re-run this deploy."
    exit 1
  fi
  echo "reviewed plan of $root: pull request #$number, head $head_sha, policy run $run"
done
{
  echo "roots=${roots[*]}"
  echo "run=$run"
  echo "head-sha=$head_sha"
  echo "pull-request=$number"
} >>"$GITHUB_OUTPUT"
