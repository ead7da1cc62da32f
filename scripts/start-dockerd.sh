#!/usr/bin/env bash
# Starts the Docker daemon the way this project runs it (no bridge network, no iptables: containers
# use --network host), unless one already answers. Idempotent; prints where the daemon logs.
set -euo pipefail

if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "dockerd: already running ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd: not installed (apt-get install docker.io)" >&2
  exit 1
fi

log=${DOCKERD_LOG:-/tmp/vertex-launch-dockerd.log}
# A stale pid file from a daemon that died keeps the next one from starting.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi
nohup dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "dockerd: started ($(docker version --format '{{.Server.Version}}')), log: $log"
    exit 0
  fi
  sleep 0.5
done
echo "dockerd: did not answer within 30 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
