#!/usr/bin/env bash
# Print a Python >= 3.12 interpreter (ansible-core 2.21 needs it): $PYTHON, python3.12/3.13 on PATH, or pyenv's.
set -eu
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for c in ${PYTHON:-} python3.12 python3.13 python3; do
  p=$(command -v "$c" 2>/dev/null) || continue
  if ok "$p"; then echo "$p"; exit 0; fi
done
for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
  if [ -x "$p" ] && ok "$p"; then echo "$p"; exit 0; fi
done
echo "find_python: no Python >= 3.12 found; install one (pyenv install 3.12) or set PYTHON=/path/to/python3.12" >&2
exit 1
