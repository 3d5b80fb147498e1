"""The docs site (`make docs`, scripts/build_docs.sh) builds offline, cleanly, and documents everything.

The build runs once per session into a temporary directory (DOCS_OUT_DIR), with DOCS_STRICT=0 so that
every warning lands in the log and can be listed at once. Then:
- the log has no Sphinx warning or error (broken reference, unknown label, missing document, bad markup,
  an intersphinx inventory that had to be fetched from the network);
- every module, plugin and role in the tree (files, not what ansible-doc happens to find) has a page;
- each page carries every option, every return value and the examples that ansible-doc reports.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
COLLECTION = "reflexion.incident"
# Plugin directories whose files are not plugins with their own page.
NOT_PAGES = {"module_utils", "doc_fragments", "action", "plugin_utils"}
PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|not fetchable|not readable|Traceback")


def _env(**extra):
    env = dict(os.environ)
    env.update(
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
        ANSIBLE_NOCOLOR="1",
        VENV=os.path.dirname(BIN),
    )
    env.pop("REFLEXION_DOCS_ONLINE", None)
    env.update(extra)
    return env


class Site(object):
    def __init__(self, out, proc):
        self.out = out
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        with open(os.path.join(out, "build.log"), encoding="utf-8") as handle:
            self.log = handle.read()
        self.pages = os.path.join(out, "html", "collections", "reflexion", "incident")

    def page(self, name, kind):
        path = os.path.join(self.pages, "%s_%s.html" % (name, kind))
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("docs-site"))
    proc = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "build_docs.sh")],
        cwd=ROOT, env=_env(DOCS_OUT_DIR=out, DOCS_STRICT="0"),
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert os.path.isfile(os.path.join(out, "build.log")), proc.stdout + proc.stderr
    return Site(out, proc)


@pytest.fixture(scope="module")
def metadata():
    """What ansible-doc knows about the collection (options, return values, examples, role entry points)."""
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-doc"), "--metadata-dump", "--no-fail-on-errors", COLLECTION],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["all"]


def _plugin_files():
    """(type, name) for every plugin file in the tree that should get a page."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "*", "*"))):
        kind = os.path.basename(os.path.dirname(path))
        kind = "module" if kind == "modules" else kind
        base = os.path.basename(path)
        if kind in NOT_PAGES or base.startswith("_") or base == "__pycache__":
            continue
        name, ext = os.path.splitext(base)
        if ext not in (".py", ".yml", ".yaml"):
            continue
        if kind in ("filter", "test") and ext == ".py":
            continue  # a filter/test .py file holds several plugins, each documented in a .yml beside it
        found.append((kind, name))
    return sorted(set(found))


def _roles():
    return sorted(
        os.path.basename(path) for path in glob.glob(os.path.join(ROOT, "roles", "*"))
        if os.path.isdir(os.path.join(path, "tasks"))
    )


def test_build_succeeds(site):
    assert site.rc == 0, "scripts/build_docs.sh failed:\n" + site.output[-4000:]
    assert os.path.isfile(os.path.join(site.out, "html", "index.html"))


def test_build_log_has_no_warnings(site):
    problems = [line for line in site.log.splitlines() if PROBLEM.search(line)]
    assert not problems, (
        "the docs build reported %d problem(s) (broken references, missing docs, network fetches):\n%s"
        % (len(problems), "\n".join(problems))
    )


def test_every_module_and_plugin_has_a_page(site, metadata):
    plugins = _plugin_files()
    assert ("module", "health_probe") in plugins and ("callback", "incident_timeline") in plugins
    missing = [
        "plugins/%s/%s -> %s_%s.html" % (kind, name, name, kind)
        for kind, name in plugins if site.page(name, kind) is None
    ]
    assert not missing, "no rendered page for: %s" % ", ".join(missing)
    # and nothing ansible-doc knows about is left out (for example a module in a subdirectory)
    known = [(kind, fqcn.split(".")[-1]) for kind, entries in metadata.items()
             if kind not in ("keyword", "role") for fqcn in entries]
    unrendered = ["%s %s" % item for item in known if site.page(item[1], item[0]) is None]
    assert not unrendered, "ansible-doc knows these but the site has no page: %s" % ", ".join(unrendered)


def test_every_role_has_a_page(site, metadata):
    roles = _roles()
    assert "triage" in roles
    missing = [role for role in roles if site.page(role, "role") is None]
    assert not missing, (
        "no rendered page for role(s) %s: a role page comes from roles/<role>/meta/argument_specs.yml"
        % ", ".join(missing)
    )
    for role in roles:
        html = site.page(role, "role")
        entry_points = metadata["role"]["%s.%s" % (COLLECTION, role)]["entry_points"]
        for entry, spec in entry_points.items():
            assert "Entry point <code" in html and ">%s</span></code>" % entry in html, (role, entry)
            for option in spec.get("options") or {}:
                assert 'id="parameter-%s--%s"' % (entry, option) in html, (
                    "role %s, entry point %s: option %s is not on its page" % (role, entry, option))


@pytest.mark.parametrize("kind", ["module", "callback"])
def test_pages_carry_options_examples_and_return_values(site, metadata, kind):
    entries = metadata.get(kind) or {}
    assert entries, "ansible-doc found no %s in %s" % (kind, COLLECTION)
    for fqcn, data in sorted(entries.items()):
        name = fqcn.split(".")[-1]
        html = site.page(name, kind)
        assert html is not None, fqcn
        doc = data.get("doc") or {}
        for option in doc.get("options") or {}:
            assert 'id="parameter-%s"' % option in html, "%s: option %s is not on its page" % (fqcn, option)
        for key in data.get("return") or {}:
            assert 'id="return-%s"' % key in html, "%s: return value %s is not on its page" % (fqcn, key)
        if kind == "module":
            assert data.get("examples"), "%s has no EXAMPLES" % fqcn
            assert 'id="examples"' in html, "%s: no Examples section" % fqcn
            assert 'id="return-values"' in html, "%s: no Return Values section" % fqcn
            # a line of the examples really is on the page
            first_task = next(line for line in data["examples"].splitlines() if line.strip().startswith("- name:"))
            words = first_task.split("name:", 1)[1].strip().split()[0]
            assert words in html, "%s: the examples are not rendered" % fqcn


def test_collection_docs_lint(tmp_path):
    """antsibull-docs' own linter: markup references (O(), RV(), M()), schema, rstcheck."""
    proc = subprocess.run(
        [os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."],
        cwd=os.path.join(ROOT, "collections", "ansible_collections", "reflexion", "incident"),
        env=_env(TMPDIR=str(tmp_path)), capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, "antsibull-docs lint-collection-docs:\n" + proc.stdout + proc.stderr


# --- issue 21: the docs site is the manual -------------------------------------------------------------------

DOCSITE = os.path.join(ROOT, "docs", "docsite")
RULES = os.path.join(ROOT, "extensions", "prometheus", "reflexion_alerts.yml")
# The guides the site must carry (docs/operator/*.md too, whatever is added there later).
REQUIRED_GUIDES = ["runbook-map.md", "quickstart.md", "lab.md", "eda.md", "awx.md", "security.md", "reliability.md",
                   "benchmarks.md", "performance.md", "incident-record.md"]


def _extra_docs():
    """{page name: the Markdown guide (relative to docs/) that scripts/build_docs.sh makes its body}."""
    import yaml

    with open(os.path.join(DOCSITE, "extra-docs.yml"), encoding="utf-8") as handle:
        index = yaml.safe_load(handle)
    pages = {}
    for section in index["sections"]:
        for name in section["toctree"]:
            with open(os.path.join(DOCSITE, "rst", "%s.rst" % name), encoding="utf-8") as handle:
                found = re.search(r"^\.\. reflexion-guide: (\S+\.md)$", handle.read(), re.M)
            assert found, "docs/docsite/rst/%s.rst names no Markdown guide (.. reflexion-guide: <path>)" % name
            pages[name] = found.group(1)
    return pages


def _title(markdown):
    with open(os.path.join(ROOT, "docs", markdown), encoding="utf-8") as handle:
        return next(line[2:].strip() for line in handle if line.startswith("# "))


def _plain(fragment):
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _html_text(path):
    import html

    with open(path, encoding="utf-8") as handle:
        return html.unescape(re.sub(r"<[^>]+>", "", handle.read()))


def test_every_guide_is_a_page_of_the_site(site):
    pages = _extra_docs()
    guides = set(pages.values())
    required = REQUIRED_GUIDES + ["operator/%s" % os.path.basename(p)
                                  for p in glob.glob(os.path.join(ROOT, "docs", "operator", "*.md"))]
    required += ["scenarios/%s" % os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "docs", "scenarios", "*.md"))]
    missing = sorted(set(required) - guides)
    assert not missing, "guides that are not pages of the site (docs/docsite/extra-docs.yml): %s" % missing
    for name, markdown in pages.items():
        path = os.path.join(site.pages, "docsite", "%s.html" % name)
        assert os.path.isfile(path), "no built page for %s (%s)" % (name, markdown)
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
        title = _title(markdown)
        h1 = re.search(r"<h1>(.*?)<a class=\"headerlink\"", raw, re.S)
        assert h1, "%s: no title on its page" % name
        assert _plain(h1.group(1)) == title.replace("`", ""), "%s: the page's title is not the guide's %r" % (name, title)
        # the body is rendered Markdown, not its raw text: no heading or code fence left in a paragraph
        assert not re.search(r"<p>(#{1,6} |```)", raw), "%s: Markdown left unrendered" % name
    index = _html_text(os.path.join(site.pages, "index.html"))
    for section in ("Operator guides", "The runbook", "Platform", "Quality"):
        assert section in index


def test_module_pages_link_the_guides(site):
    import yaml

    with open(os.path.join(DOCSITE, "links.yml"), encoding="utf-8") as handle:
        links = [link["url"] for link in yaml.safe_load(handle)["extra_links"]]
    assert "docsite/runbook_map.html" in links
    for page in ("health_probe_module.html", "incident_module.html", "triage_role.html", "ara_callback.html"):
        with open(os.path.join(site.pages, page), encoding="utf-8") as handle:
            html = handle.read()
        for url in links:
            assert 'href="%s"' % url in html, "%s does not link %s" % (page, url)
            # relative to the page: the target is a built page
            assert os.path.isfile(os.path.join(site.pages, url)), url


def test_every_alert_runbook_url_resolves_to_its_scenario_page(site):
    import yaml

    with open(RULES, encoding="utf-8") as handle:
        rules = [r for g in yaml.safe_load(handle)["groups"] for r in g["rules"]]
    assert len(rules) >= 5
    html_root = os.path.join(site.out, "html")
    for rule in rules:
        url = rule["annotations"].get("runbook_url")
        assert url, "%s has no runbook_url annotation" % rule["alert"]
        assert not url.startswith(("/", "http")) and ".." not in url, (rule["alert"], url)
        path = os.path.join(html_root, url)
        assert os.path.isfile(path), "%s: runbook_url %s is not a page of the built site" % (rule["alert"], url)
        text = _html_text(path)
        # the matching scenario page: it names the alert and the playbook that answers it
        assert rule["alert"] in text and "playbooks/%s" % rule["annotations"]["runbook_playbook"] in text, (
            rule["alert"], url)
    # the rules still pass their promtool tests with the new annotation
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is not installed"
    tests = sorted(glob.glob(os.path.join(ROOT, "extensions", "prometheus", "tests", "*.yml")))
    proc = subprocess.run([promtool, "test", "rules"] + tests, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
