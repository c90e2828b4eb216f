#!/usr/bin/env bash
# Start, stop or report the local Docker engine that builds job images and that moto's
# Batch backend runs job containers on. Machines here ship only the docker client and no
# systemd, so dockerd runs in the background with a pidfile; it is stopped by that PID only.
#
#   scripts/docker-engine.sh start|stop|status
#
# Storage driver: overlay2 when the kernel has overlayfs, else vfs (DOCKER_STORAGE_DRIVER overrides).
# vfs copies the whole image for every container and build step: measured here, `docker run true`
# took 43 s on vfs and 2.3 s on overlay2, and each Batch job in local mode is a container start.
# If dockerd cannot start with overlay2 it is started again with vfs.
#
# Env: BATCHPLANE_STATE_DIR (default <repo>/.batchplane), DOCKER_ENGINE_TIMEOUT (seconds, default 60),
#      DOCKER_STORAGE_DRIVER (overlay2 | vfs | ...; default: see above).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${BATCHPLANE_STATE_DIR:-$repo_root/.batchplane}/docker
pidfile=$state_dir/dockerd.pid
logfile=$state_dir/dockerd.log
socket=/var/run/docker.sock
timeout=${DOCKER_ENGINE_TIMEOUT:-60}
log_offset=0

log() { echo "docker-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }

engine_answers() { command -v docker >/dev/null && docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

our_pid() {
  # Prints the PID from our pidfile when that process is alive and is a dockerd.
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
  echo "$pid"
}

install_engine() {
  command -v dockerd >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "dockerd is missing: installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    command -v dockerd >/dev/null || die "docker.io installed but dockerd is still not on PATH"
  else
    die "dockerd is not installed; install Docker (Debian: apt-get install docker.io) or start an engine yourself"
  fi
}

default_driver() {
  if grep -qw overlay /proc/filesystems 2>/dev/null; then echo overlay2; else echo vfs; fi
}

launch() {
  # Starts dockerd with storage driver $1 and waits until it answers; returns 1 if it exits.
  log "starting dockerd --storage-driver=$1 (log: $logfile)"
  log_offset=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
  # setsid: the engine must outlive this script and the make/CI step that started it.
  setsid dockerd --storage-driver="$1" --pidfile "$state_dir/dockerd.self.pid" >>"$logfile" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidfile"
  wait_until_ready "$pid"
}

wait_until_ready() {
  # kill -0, not our_pid: right after the fork the process may not have exec'd dockerd yet.
  local pid=$1 started=$SECONDS
  until [[ -S $socket ]] && engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      return 1
    fi
    (( SECONDS - started < timeout )) || die "dockerd did not answer on $socket within ${timeout}s (log: $logfile)"
    sleep 0.5
  done
}

show_log_tail() {
  # Only what the last start attempt wrote: the log keeps every earlier run too.
  tail -c +"$((log_offset + 1))" "$logfile" 2>/dev/null | tail -n 20 >&2 || true
}

start() {
  if engine_answers; then
    log "an engine already answers ($(docker info --format '{{.ServerVersion}}/{{.Driver}}' 2>/dev/null)); nothing to start"
    return 0
  fi
  install_engine
  command -v docker >/dev/null || die "the docker client is not on PATH (Debian: apt-get install docker.io)"
  mkdir -p "$state_dir"
  local started=$SECONDS pid driver=${DOCKER_STORAGE_DRIVER:-$(default_driver)}
  if pid=$(our_pid); then
    log "dockerd (pid $pid) is running but does not answer yet; waiting"
    wait_until_ready "$pid" || die "dockerd exited during start-up (log: $logfile)"
  elif ! launch "$driver"; then
    if [[ $driver != vfs && -z ${DOCKER_STORAGE_DRIVER:-} ]]; then
      show_log_tail
      log "dockerd exited with $driver (log above); falling back to vfs (slow, but works everywhere)"
      launch vfs || { show_log_tail; die "dockerd exited during start-up (log above, full log: $logfile)"; }
    else
      show_log_tail
      die "dockerd exited during start-up (log above, full log: $logfile)"
    fi
  fi
  log "engine ready in $((SECONDS - started))s (pid $(<"$pidfile"), storage driver $(docker info --format '{{.Driver}}'))"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    if engine_answers; then
      log "an engine answers but was not started by this script; leaving it alone"
    else
      log "not running"
    fi
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 300 )); then  # 30 s: dockerd stops its containers first
      log "dockerd (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$pidfile"
  log "stopped"
}

status() {
  local pid
  if pid=$(our_pid); then
    if engine_answers; then
      echo "running (pid $pid, started by this script, storage driver $(docker info --format '{{.Driver}}'))"
    else
      echo "starting (pid $pid, not answering yet)"
    fi
  elif engine_answers; then
    echo "running (not started by this script)"
  else
    echo "stopped"
    return 3
  fi
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
