#!/usr/bin/env bash
# Make sure a Docker engine answers. Order of preference:
#   1. an engine already running (a user's Docker, Docker Desktop, CI's): use it, touch nothing;
#   2. dockerd installed but not running: start it in the background, logging to a file;
#   3. root on Debian with no dockerd: install Debian's docker.io, then start it;
#   4. anything else: one line saying what is missing, exit 1.
set -euo pipefail
log=${DOCKERD_LOG:-/var/log/reflexion-dockerd.log}

die() { echo "ensure_docker: $*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_docker: installing Debian's docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; } \
      || die "apt-get could not install docker.io"
  else
    die "no Docker engine is running and dockerd is not installed; install Docker (on Debian: apt-get install docker.io, as root)"
  fi
fi

if [ "$(id -u)" != 0 ]; then
  die "dockerd is installed but not running, and starting it needs root; start the Docker service (systemctl start docker)"
fi

echo "ensure_docker: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
echo $! > /run/reflexion-dockerd.pid
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
die "dockerd did not answer within 60 s; see $log"
