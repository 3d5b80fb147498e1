"""Offline stand-in for get-pip.py, used by ``ansible-test`` to bootstrap pip in its venvs.

ansible-test downloads get-pip.py from a CI-files host our machines cannot reach and, failing
that, reads ``~/.ansible/test/cache/get_pip_<version>.py``. This file is copied there by
scripts/sanity.sh. It runs ``ensurepip`` in a subprocess (in-process bootstrap would make pip
ignore the machine's pip configuration, such as its CA bundle), then ``pip install`` with the
arguments it was given, minus get-pip's own options.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel", "--no-cache-dir"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)


if __name__ == "__main__":
    main()
