"""Figures from latencies: rate and percentiles, the same way for every measurement."""

from __future__ import annotations

import statistics


def percentile(sorted_values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def summarize(latencies: list[float]) -> dict:
    """Sequential latencies (seconds) as requests/s, p50 and p99 in milliseconds."""
    ordered = sorted(latencies)
    total = sum(latencies)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / total, 1) if total else 0.0,
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3) if ordered else 0.0,
    }
