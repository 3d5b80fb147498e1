#!/usr/bin/env bash
# Provide the base images our Dockerfiles start FROM, without a registry when there is none.
# For each image: present already -> skip; a registry answers -> pull; else debootstrap + docker import.
# The offline image carries python3 (Ansible needs it); our Dockerfiles still apt-get what they need,
# so the same files build on top of Docker Hub's debian:bookworm-slim.
set -euo pipefail
images=${SEED_IMAGES:-debian:bookworm-slim}
suite=${SEED_SUITE:-bookworm}
cache=${SEED_CACHE:-/var/cache/reflexion-seed}

die() { echo "seed_images: $*" >&2; exit 1; }

mirror() {
  local m
  m=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
      | grep -v security | head -n1 | awk '{print $2}') || true
  echo "${m:-http://deb.debian.org/debian}"
}

for image in $images; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    continue
  fi
  if [ "${SEED_TRY_PULL:-1}" = 1 ] && timeout 30 docker pull -q "$image" >/dev/null 2>&1; then
    echo "seed_images: pulled $image"
    continue
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || die "cannot install debootstrap"
    else
      die "$image is missing, no registry answered, and debootstrap is not installed (apt-get install debootstrap, as root)"
    fi
  }
  mkdir -p "$cache"
  # SEED_SLIM=1 (the execution environment's trixie base, scripts/build_ee.sh): drop what Docker Hub's
  # -slim images drop too (downloaded .debs, apt lists, docs, man pages, locales) and keep dpkg from
  # installing them again, so the image stays small; an `apt-get update` brings the lists back.
  # SEED_INCLUDE: more packages than python3 (comma-separated), e.g. the EE's runtime packages.
  slim=${SEED_SLIM:-0}
  include=python3${SEED_INCLUDE:+,$SEED_INCLUDE}
  # (if/fi, not `[ ] && echo`: under `set -e` an assignment whose last command substitution fails ends the
  # script, and did, silently, on a machine without the images.)
  suffix=""
  if [ "$slim" = 1 ]; then suffix="-slim"; fi
  if [ -n "${SEED_INCLUDE:-}" ]; then suffix="$suffix-$(echo "$include" | cksum | cut -d' ' -f1)"; fi
  tarball="$cache/$suite-minbase$suffix.tar"
  if [ ! -s "$tarball" ]; then
    rootfs=$(mktemp -d "$cache/rootfs.XXXX")
    echo "seed_images: debootstrap $suite into $rootfs (about a minute)"
    debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$(mirror)" >"$cache/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $cache/debootstrap.log"
    if [ "$slim" = 1 ]; then
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
      find "$rootfs"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
      printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
        >"$rootfs/etc/dpkg/dpkg.cfg.d/reflexion-slim"
    fi
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  docker import "$tarball" "$image" >/dev/null
  echo "seed_images: imported $image from debootstrap"
done
