"""Assemble awx/awx_import.json (for `awx import`) from awx/assets.yml and awx/job_templates/*.yml.

    python awx/build_import.py            # rewrite awx/awx_import.json
    python awx/build_import.py --check    # exit 1 if awx/awx_import.json is out of date
"""

import glob
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "awx_import.json")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def assemble():
    data = load(os.path.join(HERE, "assets.yml"))
    data["job_templates"] = [load(p) for p in sorted(glob.glob(os.path.join(HERE, "job_templates", "*.yml")))]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv):
    text = assemble()
    if "--check" in argv:
        with open(OUTPUT) as f:
            current = f.read()
        if current != text:
            sys.stderr.write("awx/awx_import.json is out of date: run python awx/build_import.py\n")
            return 1
        return 0
    with open(OUTPUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
