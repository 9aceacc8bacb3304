#!/usr/bin/env bash
# Start, stop or show the four pipeline workers (clean, classify, enrich, index) as local processes.
#
#   scripts/workers.sh {start|stop|status}
#
# Logs: var/log/worker-<stage>.log; pids: var/run/worker-<stage>.pid. Settings come from the environment
# (NEWSWIRE_*; see README "Configuration"). Metrics: 127.0.0.1:9401..9404/metrics.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NEWSWIRE_VAR:-$REPO/var}"
PYTHON="${NEWSWIRE_PYTHON:-$REPO/.venv/bin/python}"
STAGES=(clean classify enrich index)

pid_of() {
  local file="$VAR/run/worker-$1.pid" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "workers run $1" || return 1
  echo "$pid"
}

start() {
  mkdir -p "$VAR/run" "$VAR/log"
  "$PYTHON" -m workers topics apply >/dev/null
  for stage in "${STAGES[@]}"; do
    if pid="$(pid_of "$stage")"; then
      echo "worker $stage already running (pid $pid)"
      continue
    fi
    # setsid: the worker and its pool process form one group, so stop can signal both.
    setsid "$PYTHON" -m workers run "$stage" >>"$VAR/log/worker-$stage.log" 2>&1 < /dev/null &
    echo $! >"$VAR/run/worker-$stage.pid"
    echo "worker $stage started (pid $!, log var/log/worker-$stage.log)"
  done
}

stop() {
  for stage in "${STAGES[@]}"; do
    pid="$(pid_of "$stage")" || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do [[ -r "/proc/$pid/cmdline" ]] || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$VAR/run/worker-$stage.pid"
    echo "worker $stage stopped"
  done
}

status() {
  for stage in "${STAGES[@]}"; do
    if pid="$(pid_of "$stage")"; then
      echo "worker $stage: running (pid $pid, rss $(awk '/^VmRSS/ {print int($2/1024)}' /proc/$pid/status) MiB)"
    else
      echo "worker $stage: stopped"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
