"""Render error rate and memory from two Prometheus query_range answers into one PNG (runs on the controller).

Usage: plot_metrics.py ERROR_JSON MEMORY_JSON OUT_PNG TITLE
Exit 0 and print "plotted N points" on success; exit 3 with a message when there is no data.
"""

import datetime
import json
import sys


def series(path):
    with open(path) as fh:
        data = json.load(fh)
    result = (data.get("data") or {}).get("result") or []
    points = []
    for s in result[:1]:
        for ts, value in s.get("values", []):
            try:
                points.append((datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc), float(value)))
            except ValueError:
                continue
    return points


def main(argv):
    err_path, mem_path, out, title = argv[1:5]
    err, mem = series(err_path), series(mem_path)
    if not err and not mem:
        print("no data in the window: plot skipped")
        return 3
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    if err:
        ax1.plot([p[0] for p in err], [p[1] * 100 for p in err], color="tab:red")
    ax1.set_ylabel("error rate (%)")
    ax1.set_title(title)
    ax1.grid(True, alpha=0.3)
    if mem:
        ax2.plot([p[0] for p in mem], [p[1] / (1024 * 1024) for p in mem], color="tab:blue")
    ax2.set_ylabel("memory (MiB)")
    ax2.set_xlabel("time (UTC)")
    ax2.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    print("plotted %d points" % (len(err) + len(mem)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
