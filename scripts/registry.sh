#!/usr/bin/env bash
# Start, stop or report a local OCI registry (Debian's docker-registry package) on 127.0.0.1:PORT.
# `--local` builds push job images here instead of ECR; docker allows plain HTTP to 127.0.0.1.
# Images are stored under <state>/registry/data and survive a restart; stop is by PID only.
#
#   scripts/registry.sh start [PORT]    # default $BATCHPLANE_REGISTRY_PORT or 5000
#   scripts/registry.sh stop
#   scripts/registry.sh status          # exit 3 when stopped
#
# Env: BATCHPLANE_STATE_DIR (default <repo>/.batchplane), REGISTRY_TIMEOUT (seconds, default 30).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${BATCHPLANE_STATE_DIR:-$repo_root/.batchplane}/registry
pidfile=$state_dir/registry.pid
portfile=$state_dir/registry.port
config=$state_dir/config.yml
logfile=$state_dir/registry.log
timeout=${REGISTRY_TIMEOUT:-30}

log() { echo "registry: $*" >&2; }
die() { log "error: $*"; exit 1; }

answers() {
  # A registry answers GET /v2/ with 200 (or 401 when it wants a login).
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/v2/" 2>/dev/null) || return 1
  [[ $code == 200 || $code == 401 ]]
}

our_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == docker-registry ]] || return 1
  echo "$pid"
}

install_registry() {
  command -v docker-registry >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "docker-registry is missing: installing Debian's docker-registry"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
    command -v docker-registry >/dev/null || die "docker-registry installed but not on PATH"
  else
    die "docker-registry is not installed (Debian: apt-get install docker-registry)"
  fi
}

start() {
  local port=${1:-${BATCHPLANE_REGISTRY_PORT:-5000}} pid
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    die "PORT must be a number between 1 and 65535, got '$port'"
  fi
  command -v curl >/dev/null || die "curl is needed to probe the registry"
  if pid=$(our_pid); then
    local running_port
    running_port=$(<"$portfile")
    [[ $running_port == "$port" ]] || die "already running on port $running_port (pid $pid); stop it first to change port"
    if answers "$port"; then
      log "already running on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
  elif answers "$port"; then
    log "a registry not started by this script already answers on 127.0.0.1:$port; using it"
    return 0
  fi
  install_registry
  mkdir -p "$state_dir/data"
  cat >"$config" <<YAML
# written by scripts/registry.sh
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state_dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  local started=$SECONDS log_offset
  if ! pid=$(our_pid); then
    log "starting docker-registry on 127.0.0.1:$port (log: $logfile)"
    log_offset=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
    # setsid: the registry must outlive this script and the make/CI step that started it.
    setsid docker-registry serve "$config" >>"$logfile" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pidfile"
    echo "$port" >"$portfile"
  fi
  until answers "$port"; do
    # kill -0, not our_pid: right after the fork the process may not have exec'd the registry yet.
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -c +"$((${log_offset:-0} + 1))" "$logfile" 2>/dev/null | tail -n 20 >&2 || true
      rm -f "$pidfile" "$portfile"
      die "docker-registry exited during start-up (log above, full log: $logfile)"
    fi
    (( SECONDS - started < timeout )) || die "the registry did not answer on 127.0.0.1:$port within ${timeout}s (log: $logfile)"
    sleep 0.2
  done
  log "ready on 127.0.0.1:$port in $((SECONDS - started))s (pid $(<"$pidfile"))"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile" "$portfile"
    log "not running"
    return 0
  fi
  log "stopping docker-registry (pid $pid)"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 100 )); then  # 10 s
      log "docker-registry (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$pidfile" "$portfile"
  log "stopped"
}

status() {
  local pid port
  if pid=$(our_pid); then
    port=$(<"$portfile")
    if answers "$port"; then echo "running on 127.0.0.1:$port (pid $pid)"; else echo "starting on 127.0.0.1:$port (pid $pid)"; fi
  else
    echo "stopped"
    return 3
  fi
}

case ${1:-} in
  start) start "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [PORT] | stop | status" >&2; exit 2 ;;
esac
