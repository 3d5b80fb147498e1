#!/usr/bin/env bash
# Build the execution environment image offline (docs/operator/execution-environment.md).
#
#   scripts/build_ee.sh [TAG]        # default reflexion-incident-ee:<galaxy.yml version>
#
# 1. base image: debian:trixie-slim (Python 3.13); when missing and no registry answers, seeded with
#    debootstrap by scripts/seed_images.sh (SEED_SLIM=1);
# 2. stage (.cache/ee/stage): our collection tarball, the dependency collections packed from the pinned
#    `ansible` package, a wheelhouse (pip download: the only network use, PyPI at prep time, cached), and
#    execution-environment.yml (scripts/ee/prepare_context.py prints the inputs' hash);
# 3. when the image TAG already carries that hash in its label org.reflexion.ee.inputs: done, no build;
# 4. else `ansible-builder build` with docker: ansible-galaxy --offline, pip --no-index, the docker layer cache.
#
# Environment: VENV (.venv), EE_BASE_IMAGE (debian:trixie-slim), EE_SUITE (trixie), EE_CACHE (.cache/ee),
# EE_FORCE=1 to build even when the hash matches.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${VENV:-.venv}
export PATH="$root/$venv/bin:$PATH"
cache=${EE_CACHE:-$root/.cache/ee}
base=${EE_BASE_IMAGE:-debian:trixie-slim}
label=org.reflexion.ee.inputs

die() { echo "build_ee: $*" >&2; exit 1; }

command -v ansible-builder >/dev/null || die "ansible-builder is not in $venv (make setup)"
{ command -v docker && docker info; } >/dev/null 2>&1 || die "no Docker engine answers (make engine)"
version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tag=${1:-reflexion-incident-ee:$version}
[[ $tag =~ ^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$ ]] || die "bad image tag '$tag'"

if ! docker image inspect "$base" >/dev/null 2>&1; then
  # seeded with the EE's runtime packages (meta/ee-bindep.txt) too: then the image build needs no Debian
  # mirror either (scripts/ee/pkgmgr installs only what is missing, as it does on Docker Hub's image)
  pkgs=$(awk '!/^#/ && /platform:dpkg/ && !/compile/ {print $1}' meta/ee-bindep.txt | paste -sd, -)
  SEED_IMAGES=$base SEED_SUITE=${EE_SUITE:-trixie} SEED_SLIM=1 SEED_INCLUDE=$pkgs scripts/seed_images.sh
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base")

mkdir -p "$cache"
hash=$(python scripts/ee/prepare_context.py "$cache/stage" --cache "$cache" --base-image-id "$base_id")
have=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null || true)
if [ "$have" = "$hash" ] && [ "${EE_FORCE:-0}" != 1 ]; then
  echo "build_ee: $tag is up to date (inputs $hash)"
  exit 0
fi

echo "build_ee: building $tag from $base (inputs $hash)"
start=$(date +%s)
ansible-builder build -f "$cache/stage/execution-environment.yml" -c "$cache/context" -t "$tag" \
  --container-runtime docker --build-arg EE_BASE_IMAGE="$base" \
  --extra-build-cli-args "--label $label=$hash" -v 3 >"$cache/build.log" 2>&1 \
  || { tail -n 60 "$cache/build.log" >&2; die "ansible-builder build failed; full log: $cache/build.log"; }
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "build_ee: built $tag in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB (log: $cache/build.log)"
