"""What every bench/bench_*.py shares: the quick mode and where the result file goes.

--quick            tiny inputs and one run: proves the benchmark still completes and writes its result
                   (tests/integration/test_bench_quick.py runs each script so in CI); its figures mean nothing.
--out-dir DIR      where <name>.json is written; also BENCH_RESULTS_DIR. Default: bench/results (the tracked
                   figures that docs/benchmarks.md is rendered from) for a full run, tests/output/bench-quick
                   for a quick run, so a quick run never overwrites the tracked figures.
"""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
QUICK_RESULTS = os.path.join(ROOT, "tests", "output", "bench-quick")


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs, one run: checks that the benchmark completes (figures are meaningless)")
    parser.add_argument("--out-dir", default=os.environ.get("BENCH_RESULTS_DIR") or None,
                        help="directory for the result file (default: bench/results, or tests/output/bench-quick "
                             "with --quick; env BENCH_RESULTS_DIR)")


def parse(parser, **quick):
    """Parse the command line; with --quick, ``quick`` replaces the defaults of the size and run options
    (an option given explicitly still wins, e.g. ``--quick --containers 1``)."""
    add_arguments(parser)
    args, _rest = parser.parse_known_args()
    if args.quick:
        parser.set_defaults(**quick)
    return parser.parse_args()


def write_result(args, name, data):
    """Write ``data`` to <out-dir>/<name>.json and return the path."""
    out_dir = args.out_dir or (QUICK_RESULTS if args.quick else RESULTS)
    os.makedirs(out_dir, exist_ok=True)
    if args.quick:
        data = dict(data, quick=True)
    path = os.path.join(out_dir, "%s.json" % name)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
    print("wrote %s" % path)
    return path
