"""Growth of every analysis with the number of events: a log-log table from ``bench/analyses.py`` runs.

Each input is one run of ``bench/analyses.py`` at one size: its ``--json`` file, or its printed
table saved to a text file (the markdown rows it prints). The table shows wall (or, with
``--metric cpu``, CPU) seconds per size,
ours and the reference, and the log-log slope between consecutive sizes and over the whole range
(1.0 = linear in events; below 1 = fixed costs still matter; above 1 = worse than linear).

    .venv/bin/python bench/growth.py 1.06M=bench/out/a1m.json 10.6M=bench/out/a10m.txt 106M=bench/out/a100m.json

A size label is a number with an optional K/M/B suffix (events). Cells without a measurement
(error, timeout, out of memory) print ``—``; the slope is then computed over the sizes that have one.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}
_ROW = re.compile(r"^\|\s*([a-z][a-z ]+?)\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|")


def parse_size(label: str) -> float:
    """``'10.6M'`` → 10,600,000.0

    >>> parse_size("1.06M"), parse_size("106M")
    (1060000.0, 106000000.0)
    """
    match = re.fullmatch(r"([0-9.]+)\s*([KMB]?)", label.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {label!r} (use e.g. 1.06M)")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip().rstrip("×"))
    except ValueError:
        return None


def load_run(path: Path, metric: str = "wall") -> dict[str, tuple[float | None, float | None]]:
    """{analysis: (ours s, reference s)} from a ``--json`` file or a printed table; ``metric``
    ``wall`` (seconds of the analysis call) or ``cpu`` (CPU seconds of the process, all threads)."""
    text = path.read_text()
    key, offset = ("seconds", 0) if metric == "wall" else ("cpu", 1)
    if path.suffix == ".json":
        data = json.loads(text)
        return {r["task"]: (r["ours"].get(key), r["reference"].get(key)) for r in data["results"]}
    runs: dict[str, tuple[float | None, float | None]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match and match.group(1) != "analysis":
            # analysis | ours s | ours CPU s | ours RSS | reference s | … (an error fills three cells)
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            runs[match.group(1)] = (_number(cells[1 + offset]), _number(cells[4 + offset]))
    return runs


def slope(points: list[tuple[float, float | None]]) -> float | None:
    """Least-squares slope of log(seconds) on log(events) over the points that have seconds.

    >>> round(slope([(1e6, 1.0), (1e7, 10.0), (1e8, 100.0)]), 3)
    1.0
    """
    known = [(math.log10(n), math.log10(s)) for n, s in points if s]
    if len(known) < 2:
        return None
    mx = sum(x for x, _ in known) / len(known)
    my = sum(y for _, y in known) / len(known)
    den = sum((x - mx) ** 2 for x, _ in known)
    return sum((x - mx) * (y - my) for x, y in known) / den if den else None


def table(runs: list[tuple[str, float, dict[str, tuple[float | None, float | None]]]], unit: str = "s") -> str:
    labels = [label for label, _, _ in runs]
    tasks = list(dict.fromkeys(task for _, _, run in runs for task in run))
    head = ["analysis", *(f"ours {lb} {unit}" for lb in labels), "ours slope",
            *(f"ref {lb} {unit}" for lb in labels), "ref slope"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]

    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    for task in tasks:
        ours = [(n, run.get(task, (None, None))[0]) for _, n, run in runs]
        ref = [(n, run.get(task, (None, None))[1]) for _, n, run in runs]
        row = [task, *(cell(s) for _, s in ours), cell(slope(ours)), *(cell(s) for _, s in ref), cell(slope(ref))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="SIZE=FILE", help="events label and an analyses.py output")
    parser.add_argument("--metric", choices=("wall", "cpu"), default="wall",
                        help="wall seconds, or CPU seconds (steadier when the load differs between runs)")
    args = parser.parse_args()
    runs = []
    for item in args.runs:
        label, _, file = item.partition("=")
        if not file:
            parser.error(f"expected SIZE=FILE, got {item!r}")
        runs.append((label, parse_size(label), load_run(Path(file), args.metric)))
    runs.sort(key=lambda r: r[1])
    print(table(runs, "s" if args.metric == "wall" else "CPU s"))


if __name__ == "__main__":
    main()
