#!/bin/sh
# Build the deployment's git history from the role's sources, in a bare repository:
#   v1.0.0  the stable release (the sources as shipped)
#   v1.1.0  a release that breaks: RELEASE_ERROR_RATE=0.3 (30% of /api/chat answer 500)
# Idempotent: when the bare repository already holds both tags built from the same sources, it
# prints "up-to-date" and touches nothing; otherwise it (re)builds the history and prints "rebuilt".
# Usage: release_repo.sh SRC_DIR BARE_REPO   (SRC_DIR: lab/roles/lab/files/deploy)
set -eu
src=$1
bare=$2
digest=$(cd "$src" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
if [ -d "$bare" ] && git --git-dir="$bare" rev-parse -q --verify refs/tags/v1.1.0 >/dev/null \
   && git --git-dir="$bare" log -1 --format=%B v1.0.0 | grep -q "sources $digest"; then
  echo up-to-date
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME="reflexion release bot" GIT_AUTHOR_EMAIL="release@reflexion.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
git init -q -b main "$work"
cp -a "$src"/. "$work"/
find "$work" -name __pycache__ -prune -exec rm -rf {} +
cd "$work"
git add -A
git commit -q -m "reflexion 1.0.0: stable release (sources $digest)"
git tag -a v1.0.0 -m "v1.0.0 stable"
printf 'APP_VERSION=1.1.0\nRELEASE_ERROR_RATE=0.3\n' > app/RELEASE
git commit -q -am "reflexion 1.1.0: new prompt builder (context window handling)"
git tag -a v1.1.0 -m "v1.1.0"
git checkout -q v1.0.0 -B main
rm -rf "$bare"
git clone -q --bare "$work" "$bare"
echo rebuilt
