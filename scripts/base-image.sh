#!/usr/bin/env bash
# Build the local Python base image for job images: no image registry is reachable here, so
# python:3.12-slim cannot be pulled. A minimal Debian bookworm (Python 3.11) made with
# debootstrap is imported instead; job images take it as BASE_IMAGE. Skipped when it exists.
#
#   scripts/base-image.sh            # builds batchplane/python-base:bookworm if missing
#
# Env: BASE_IMAGE_NAME (default batchplane/python-base:bookworm),
#      DEBIAN_MIRROR (default: the first http(s) URI in apt's sources, else deb.debian.org),
#      BATCHPLANE_STATE_DIR (default <repo>/.batchplane; the root file system is built below it).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${BASE_IMAGE_NAME:-batchplane/python-base:bookworm}
state_dir=${BATCHPLANE_STATE_DIR:-$repo_root/.batchplane}
suite=bookworm
# python-is-python3: job definitions run `python -m ...`, and Debian names the binary python3.
packages=python3,python3-pip,python-is-python3,ca-certificates
# Bump when the recipe below changes: an image made by an older recipe is then rebuilt.
recipe=2

log() { echo "base-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

started=$SECONDS
command -v docker >/dev/null || die "the docker client is not on PATH"
docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker-engine.sh start)"

existing=$(docker image inspect --format '{{index .Config.Labels "org.batchplane.base-recipe"}}' "$image" 2>/dev/null || true)
if [[ $existing == "$recipe" ]]; then
  log "$image already exists; nothing to build (${SECONDS}s)"
  exit 0
elif docker image inspect "$image" >/dev/null 2>&1; then
  log "$image was made by an older recipe (${existing:-none}, now $recipe); rebuilding"
fi

if ! command -v debootstrap >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    die "debootstrap is not installed (Debian: apt-get install debootstrap), and it needs root"
  fi
fi
[[ $(id -u) == 0 ]] || die "debootstrap needs root"

mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(grep -hoE '^(URIs:|deb) *https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | head -n 1 | grep -oE 'https?://[^ ]+' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

mkdir -p "$state_dir"
rootfs=$(mktemp -d "$state_dir/base-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
# mktemp makes the directory 0700, and it becomes the image's /: non-root job users could not start.
chmod 0755 "$rootfs"

log "debootstrap --variant=minbase $suite from $mirror (about a minute)"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
  tail -n 20 "$rootfs.log" >&2
  die "debootstrap failed (log above, full log: $rootfs.log)"
fi
rm -f "$rootfs.log"
# Keep the image small: package lists and caches are not needed at run time.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

log "importing as $image"
# docker import sets no environment: without PATH, `python -m ...` from a job definition is not found.
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change "LABEL org.batchplane.base-recipe=$recipe" \
  --change 'CMD ["python3"]' \
  - "$image" >/dev/null
log "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}')) in $((SECONDS - started))s"
