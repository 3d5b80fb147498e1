#!/usr/bin/env bash
# ansible-test sanity in a clean copy of the tree under ansible_collections/reflexion/incident.
# (Stale tests/output venvs inside the working tree would fail the symlinks and line-endings tests.)
set -euo pipefail
venv=$(cd "${VENV:-.venv}" && pwd)
py=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
core=$("$venv/bin/python" -c 'from ansible.release import __version__ as v; print(v)')

# Offline get-pip (see scripts/get_pip_standin.py): one copy per pip version ansible-test may ask for.
cache=~/.ansible/test/cache
mkdir -p "$cache"
reqs="$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py"
while read -r v; do
  cp scripts/get_pip_standin.py "$cache/get_pip_${v//./_}.py"
done < <(grep -ohE "pip='[0-9.]+'" "$reqs" | grep -oE '[0-9.]+' | sort -u)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/reflexion/incident"
mkdir -p "$dest"
git ls-files -co --exclude-standard -z | grep -zvE '^(collections|lab|\.venv-oldest)/' | xargs -0 -I{} cp --parents -P {} "$dest/" 2>/dev/null || true
( cd "$dest" && git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity )
cd "$dest"
echo "sanity: ansible-core $core, python $py"
PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --local --python "$py" --requirements "$@"
