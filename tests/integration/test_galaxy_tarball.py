"""What ships: the Galaxy tarball `ansible-galaxy collection build` makes holds no test-bed file."""

import os
import subprocess
import tarfile

from .conftest import BIN, ROOT

TEST_BED = ("tests/integration/", "tests/unit/", "tests/deployments/", "molecule/", "bench/", "scripts/",
            "extensions/prometheus/tests/",
            # issue 17: the lab is the collection reflexion.lab in lab/, with its entry playbooks and inventory
            "lab/", "playbooks/lab.yml", "playbooks/lab_fault.yml", "playbooks/fleet.yml", "playbooks/fleet_fault.yml",
            "inventories/lab/", "docs/lab.md",
            # development set-up
            ".venv", "Makefile", "requirements", "pyproject.toml", "packages-debian.txt", "tests/")


def test_tarball_holds_no_test_bed_file(tmp_path):
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    (tarball,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tar.gz")]
    with tarfile.open(str(tarball)) as tar:
        names = tar.getnames()
    print("\n".join(sorted(names)))  # the tarball's file list, in the test log
    assert "plugins/modules/log_grep.py" in names  # the product is there
    assert "roles/triage/tasks/main.yml" in names and "playbooks/high_error_rate.yml" in names
    shipped = sorted(n for n in names if n.startswith(TEST_BED) or n.rstrip("/") + "/" in TEST_BED)
    assert shipped == [], shipped[:20]
