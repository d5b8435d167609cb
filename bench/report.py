"""A run's results: JSON (everything), Markdown (the table and the targets), PNG
(latency against concurrency per workload). Kept in bench/results/ so a change
can be compared with the last run of the same backend and size on the same machine.
"""

from __future__ import annotations

import json
from pathlib import Path


def _peak(levels: dict) -> float:
    return max((figures["rps"] for figures in levels.values()), default=0.0)


def _level(levels: dict, c):
    return levels.get(c) or levels.get(str(c))


def targets(data: dict) -> list[dict]:
    """The issue's targets, measured in this run (absent workloads are skipped)."""
    found = []
    work = data["workloads"]
    lowest = min(data["concurrency"])

    def add(name, measured, goal, met):
        found.append({"target": name, "measured": measured, "goal": goal, "met": met})

    if "query_indexed" in work and data["trivial"]:
        ratio = _peak(work["query_indexed"]["levels"]) / (_peak(data["trivial"]) or 1)
        add(
            "query by indexed filter: peak req/s vs trivial endpoint",
            round(ratio, 2),
            ">= 0.5",
            ratio >= 0.5,
        )
    if "page_deep_cursor" in work and "page_first_cursor" in work:
        deep = _level(work["page_deep_cursor"]["levels"], lowest)["p50_ms"]
        first = _level(work["page_first_cursor"]["levels"], lowest)["p50_ms"]
        ratio = deep / first if first else 0
        add(
            f"cursor page at 90% depth vs first page (p50, c={lowest})",
            round(ratio, 2),
            "<= 1.5",
            ratio <= 1.5,
        )
    if "insert_1000" in work:
        entry = work["insert_1000"]
        ratio = _peak(entry["levels"]) / (entry["floor"]["core"]["rps"] or 1)
        add(
            "insert 1000 items: rows/s vs Core executemany", round(ratio, 2), ">= 0.5", ratio >= 0.5
        )
    if data.get("profile"):
        share = data["profile"]["token_and_json_share"]
        add(
            "token verification + JSON encoding: share of query server time",
            share,
            "< 0.15",
            share < 0.15,
        )
    if data.get("memory"):
        growth = max(
            (w["end_mib"] - w["start_mib"] for w in data["memory"]["workers"].values()), default=0
        )
        add(
            f"worker RSS growth over {data['memory']['requests']:,} requests (MiB)",
            round(growth, 1),
            "flat (<= 5 MiB)",
            growth <= 5,
        )
    return found


def previous_run(folder: Path, data: dict) -> dict | None:
    """The newest earlier run of the same backend and size on the same machine."""
    runs = []
    for path in folder.glob("*.json"):
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (
            other.get("backend") == data["backend"]
            and other.get("rows") == data["rows"]
            and other.get("machine", {}).get("host") == data["machine"]["host"]
            and other.get("run") != data["run"]
        ):
            runs.append(other)
    return max(runs, key=lambda r: r["date"], default=None)


def markdown(data: dict, previous: dict | None) -> str:
    machine = data["machine"]
    lines = [
        f"# Benchmark {data['run']}",
        "",
        f"{data['backend']}, {data['rows']:,} rows; {data['date']}; commit {data['commit']}; "
        f"{machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}; gunicorn "
        f"{machine['workers']} workers x {machine['threads']} threads; "
        f"{data['duration_s']} s per level.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for t in data["targets"]:
        lines.append(
            f"| {t['target']} | {t['measured']} | {t['goal']} | {'yes' if t['met'] else 'NO'} |"
        )
    lines += [
        "",
        "## Workloads",
        "",
        "req/s and latency from wrk against gunicorn. x web: req/s over the trivial endpoint's "
        "at the same concurrency. Floors: the same SQL in-process on one connection, through "
        "SQLAlchemy Core and through the bare driver (p50 ms); x core / x driver: req/s over the "
        "floor's (sequential) req/s."
        + (f" vs last: req/s change from {previous['run']}." if previous else ""),
        "",
        "| workload | c | req/s | p50 ms | p99 ms | x web | core ms | driver ms "
        "| x core | x driver | errors |" + (" vs last |" if previous else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if previous else ""),
    ]
    for c in data["concurrency"]:
        t = _level(data["trivial"], c)
        if t:
            lines.append(
                f"| trivial endpoint | {c} | {t['rps']:.0f} | {t['p50_ms']:.2f} "
                f"| {t['p99_ms']:.2f} "
                f"| 1.00 | | | | | {t['errors']} |" + (" |" if previous else "")
            )
    for name, entry in data["workloads"].items():
        floor = entry["floor"]
        for c in data["concurrency"]:
            f = _level(entry["levels"], c)
            t = _level(data["trivial"], c)
            row = (
                f"| {name} | {c} | {f['rps']:.0f} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} "
                f"| {f['rps'] / t['rps']:.2f} | {floor['core']['p50_ms']:.2f} "
                f"| {floor['driver']['p50_ms']:.2f} | {f['rps'] / floor['core']['rps']:.2f} "
                f"| {f['rps'] / floor['driver']['rps']:.2f} | {f['errors']} |"
            )
            if previous:
                old = _level(previous.get("workloads", {}).get(name, {}).get("levels", {}), c)
                # A level that served nothing last time has no ratio to give.
                row += (
                    f" {(f['rps'] / old['rps'] - 1) * 100:+.0f}% |" if old and old["rps"] else " |"
                )
            lines.append(row)
    if data.get("profile"):
        p = data["profile"]
        lines += [
            "",
            "## Profile of query_indexed (pyinstrument, in-process)",
            "",
            f"{p['requests']} requests, {p['server_ms_per_request']} ms of server time each: "
            f"token verification {p['token_share']:.1%}, "
            f"JSON encoding {p['json_encoding_share']:.1%}, "
            f"together {p['token_and_json_share']:.1%}. "
            f"The call tree is in {data['run']}-profile.txt.",
        ]
    if data.get("memory"):
        m = data["memory"]
        lines += ["", f"## Worker memory over {m['requests']:,} requests", ""]
        for pid, w in m["workers"].items():
            lines.append(
                f"- worker {pid}: {w['start_mib']} MiB at start, {w['end_mib']} MiB at end"
            )
    lines += ["", f"Seeding: {data['seed']}. Whole run: {data['wall_s']} s.", ""]
    return "\n".join(lines)


def chart(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("trivial endpoint", data["trivial"])] + [
        (name, entry["levels"]) for name, entry in data["workloads"].items()
    ]
    columns = 4
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    levels = data["concurrency"]
    for ax, (name, figures) in zip(axes.flat, panels, strict=False):
        points = [_level(figures, c) for c in levels]
        ax.plot(levels, [p["p50_ms"] for p in points], marker="o", label="p50")
        ax.plot(levels, [p["p99_ms"] for p in points], marker="o", linestyle="--", label="p99")
        ax.set_title(name, fontsize=10)
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_xlabel("connections")
        ax.set_ylabel("ms")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend()
    figure.suptitle(f"Latency against concurrency: {data['run']}")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def write(data: dict, folder: Path, *, previous: dict | None) -> None:
    data["targets"] = targets(data)
    (folder / f"{data['run']}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (folder / f"{data['run']}.md").write_text(markdown(data, previous))
    chart(data, folder / f"{data['run']}.png")
