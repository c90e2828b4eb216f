#!/usr/bin/env bash
# Usage: changed-roots.sh BASE HEAD
# Prints, one per line, the rendered roots (environments/<root>/) whose files differ between two
# commits. `batchplane render --check` has proved that environments/ is what the spec renders, so
# the rendered files say what changed, whatever caused it: the spec, an override,
# images.lock.json (the source maps under .batchplane/ are not read by terraform and do not count).
# A change under modules/ touches every root; an unknown BASE (the first push of
# a branch) counts as every root. A removed root has nothing left to plan or apply.
set -euo pipefail
base=${1:-}
head=${2:?usage: changed-roots.sh BASE HEAD}

all_roots() { find environments -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; }

if [ -z "$base" ] || [ "$base" = 0000000000000000000000000000000000000000 ] \
  || ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  changed=$(all_roots)
elif git diff --name-only "$base" "$head" -- modules | grep -q .; then
  changed=$(all_roots)
else
  # Not the bookkeeping under environments/*/.batchplane/: a spec edit moves the source map's
  # line numbers in every root, which changes nothing terraform reads.
  changed=$(git diff --name-only "$base" "$head" -- environments ':(exclude)environments/*/.batchplane/*' | cut -d/ -f2)
fi
for root in $changed; do
  if [ -d "environments/$root" ]; then echo "$root"; fi
done | sort -u
