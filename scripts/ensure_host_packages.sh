#!/usr/bin/env bash
# Install the Debian packages listed in packages-debian.txt that are missing (root on Debian only).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
while read -r pkg _; do
  [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < packages-debian.txt
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_host_packages: missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "ensure_host_packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
  || { echo "ensure_host_packages: apt-get could not install ${missing[*]}" >&2; exit 1; }
