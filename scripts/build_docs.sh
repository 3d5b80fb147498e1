#!/usr/bin/env bash
# `make docs`: the collection docs site, built with antsibull-docs and Sphinx, offline.
#
#   scripts/build_docs.sh            -> docs/_build/html/index.html (log: docs/_build/build.log)
#
# 1. `antsibull-docs sphinx-init --use-current` writes a fresh Sphinx site for reflexion.incident into
#    docs/_build/site, so every module, plugin and role (meta/argument_specs.yml) that exists NOW is
#    picked up; nothing generated is committed.
# 2. The generated conf.py gets our overrides: the project's title, and intersphinx pointed at a local
#    inventory made from docs/site/ansible-docs-labels.txt instead of docs.ansible.com/docs.python.org,
#    so no network is needed and references to the Ansible docs still become links.
# 3. `antsibull-docs collection --fail-on-error` renders the RST; `sphinx-build -W --keep-going`
#    builds the HTML and fails on any warning (a broken reference, a missing page, bad markup).
#
# Environment: VENV (default .venv); DOCS_STRICT=0 to keep going past warnings (exit 0, log kept);
# DOCS_OUT_DIR (default docs/_build) for the site, html/, doctrees/ and build.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$(cd "${VENV:-.venv}" && pwd)
export PATH="$venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
# The collection is resolved from the checkout itself (collections/ansible_collections/reflexion/incident -> .).
export ANSIBLE_COLLECTIONS_PATH="$root/collections"
unset ANSIBLE_COLLECTIONS_PATHS

out=${DOCS_OUT_DIR:-$root/docs/_build}
mkdir -p "$out"
out=$(cd "$out" && pwd)
site=$out/site
log=$out/build.log
for tool in antsibull-docs sphinx-build; do
  command -v "$tool" >/dev/null || { echo "build_docs: $tool is missing; run: $venv/bin/pip install -r requirements.txt" >&2; exit 2; }
done

rm -rf "$site" "$out/html" "$out/doctrees"
mkdir -p "$out"
# antsibull-docs wants its destination owned by us and writable by nobody else.
mkdir -m 0700 "$site"
: >"$log"

echo "==> antsibull-docs sphinx-init --use-current reflexion.incident" | tee -a "$log"
antsibull-docs sphinx-init --use-current --dest-dir "$site" reflexion.incident >>"$log" 2>&1

echo "==> offline intersphinx inventory from docs/site/ansible-docs-labels.txt" | tee -a "$log"
python - "$root/docs/site/ansible-docs-labels.txt" "$site/ansible_devel.inv" <<'PY'
import sys
import zlib

src, dest = sys.argv[1], sys.argv[2]
lines = []
with open(src, encoding="utf-8") as handle:
    for raw in handle:
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        name, kind, uri, title = raw.split(None, 3)
        lines.append("%s %s %s %s %s\n" % (name, kind, "-1" if kind == "std:label" else "1", uri, title))
header = (
    "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
    "# The remainder of this file is compressed using zlib.\n"
)
with open(dest, "wb") as handle:
    handle.write(header.encode("utf-8") + zlib.compress("".join(lines).encode("utf-8")))
print("%d targets" % len(lines))
PY

cat >>"$site/conf.py" <<'PY'

# --- reflexion.incident overrides (scripts/build_docs.sh) ---
import os as _os

project = 'reflexion.incident'
copyright = 'Reflexion SRE team'
title = 'reflexion.incident: incident response for the reflexion service'
html_short_title = 'reflexion.incident'
html_title = title
# Offline: only the local inventory of Ansible docs targets (docs/site/ansible-docs-labels.txt).
# REFLEXION_DOCS_ONLINE=1 lets Sphinx try docs.ansible.com first (then the local file).
_ansible_devel = 'https://docs.ansible.com/projects/ansible/devel/'
_inv = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), 'ansible_devel.inv')
if _os.environ.get('REFLEXION_DOCS_ONLINE') == '1':
    intersphinx_mapping = {'ansible_devel': (_ansible_devel, (None, _inv))}
else:
    intersphinx_mapping = {'ansible_devel': (_ansible_devel, _inv)}
intersphinx_timeout = 5
try:
    import sphinx_ansible_theme  # noqa: F401  (pinned in requirements.txt)
except ImportError:
    html_theme = 'alabaster'
# The guides (docs/*.md, docs/operator/*.md, docs/scenarios/*.md) are plain Markdown: the extra docs pages
# (docs/docsite/rst/*.rst) include them with MyST's parser. The copies beside the built pages are not pages.
extensions = list(extensions) + ['myst_parser']
exclude_patterns = list(globals().get('exclude_patterns', [])) + ['collections/reflexion/*.md', 'collections/reflexion/*/*.md']
myst_heading_anchors = 3
# Fences in the guides that Pygments has no lexer for are shown as plain text (not a warning).
from pygments.lexers.special import TextLexer as _TextLexer
from sphinx.highlighting import lexers as _lexers
for _name in ('cron', 'crontab', 'console-output'):
    _lexers.setdefault(_name, _TextLexer())
PY

echo "==> antsibull-docs collection --use-current --fail-on-error reflexion.incident" | tee -a "$log"
mkdir -p "$site/rst"
chmod og-w "$site/rst"
(cd "$site" && antsibull-docs --config-file antsibull-docs.cfg collection --use-current --fail-on-error \
  --cleanup everything --dest-dir rst reflexion.incident) >>"$log" 2>&1 || {
  tail -n 40 "$log" >&2
  echo "build_docs: antsibull-docs failed (log: $log)" >&2
  exit 1
}

echo "==> the Markdown guides as pages (docs/docsite/rst/<page>.rst names its guide: .. reflexion-guide: <path>)" | tee -a "$log"
# Each extra docs page (docs/docsite/rst/*.rst, copied by antsibull-docs into docsite/) is a placeholder that
# names one guide of docs/. Here its body becomes the guide itself, parsed by MyST: the Markdown is copied
# beside the built pages (collections/reflexion/<path>, excluded from the pages in conf.py) and included.
guides=$site/rst/collections/reflexion
for dir in . operator scenarios; do
  mkdir -p "$guides/$dir"
  cp "$root/docs/$dir"/*.md "$guides/$dir/"
done
python - "$guides/incident/docsite" >>"$log" <<'PY'
import glob
import os
import re
import sys

count = 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.rst"))):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    guide = re.search(r"^\.\. reflexion-guide: (\S+\.md)$", text, re.M)
    if not guide:
        continue
    label = re.search(r"^\.\. _[^:]+:$", text, re.M).group(0)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("%s\n\n.. include:: ../../%s\n   :parser: myst_parser.sphinx_\n" % (label, guide.group(1)))
    count += 1
print("%d guide pages" % count)
PY

echo "==> sphinx-build -n -W --keep-going (html -> $out/html)" | tee -a "$log"
strict=(-W --keep-going)
[ "${DOCS_STRICT:-1}" = 0 ] && strict=()
rc=0
sphinx-build -b html -c "$site" -d "$out/doctrees" -n "${strict[@]}" "$site/rst" "$out/html" >>"$log" 2>&1 || rc=$?
grep -E 'WARNING|ERROR' "$log" >&2 || true
if [ "$rc" -ne 0 ]; then
  echo "build_docs: sphinx-build failed with $rc (log: $log)" >&2
  exit "$rc"
fi
echo "==> $out/html/index.html ($(find "$out/html/collections" -name '*.html' | wc -l) pages; log: $log)"
