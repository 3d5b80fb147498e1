"""What ships: the Galaxy tarball `ansible-galaxy collection build` makes holds no test-bed file."""

import os
import subprocess
import tarfile

from .conftest import BIN, ROOT

TEST_BED = ("tests/integration/", "tests/unit/", "tests/deployments/", "molecule/", "bench/", "scripts/",
            "extensions/prometheus/tests/")


def test_tarball_holds_no_test_bed_file(tmp_path):
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    (tarball,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tar.gz")]
    with tarfile.open(str(tarball)) as tar:
        names = tar.getnames()
    assert "plugins/modules/log_grep.py" in names  # the product is there
    shipped = sorted(n for n in names if n.startswith(TEST_BED) or n.rstrip("/") + "/" in TEST_BED)
    assert shipped == [], shipped[:20]
