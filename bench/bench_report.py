"""Benchmark the access review on a large generated instance: time and peak memory per stage.

Usage: python bench/bench_report.py [--repos 2000 --users 10000 --roles 1000] [--html]

Each stage runs twice: once timed, once under tracemalloc for its peak memory (tracemalloc
slows Python down, so the two are kept apart). Times are also given relative to just loading
the snapshot JSON, the yardstick the README quotes. The report stages write to a sink that
only counts characters, so disk speed is left out; the size of each document is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402

from audit.access import build_report  # noqa: E402
from audit.access_report import render_report, render_who_can  # noqa: E402
from audit.model import parse_instance  # noqa: E402


def consume(chunks: Iterable[str]) -> int:
    """Characters written, without keeping them (a report can be far larger than its input)."""
    return sum(len(chunk) for chunk in chunks)


def measure(label: str, work: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    started = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - started
    del value
    gc.collect()
    tracemalloc.start()
    value = work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<52} {seconds:8.2f} s  peak {peak:8.1f} MiB")
    return value, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--repo", default="team0-hosted", help="who-can target")
    parser.add_argument(
        "--html",
        action="store_true",
        help="also the HTML page (its island straight from the engine), and for comparison "
        "the island made from the whole report document",
    )
    args = parser.parse_args()
    snapshot = generate(args.repos, args.users, args.roles)
    text = json.dumps(snapshot)
    print(
        f"snapshot: {len(text) / 2**20:.1f} MiB; {len(snapshot['repositories'])} Docker repos, "
        f"{len(snapshot['users'])} users, {len(snapshot['roles'])} roles, "
        f"{len(snapshot['privileges'])} privileges"
    )
    del snapshot
    document, load_s = measure("json.loads (yardstick)", lambda: json.loads(text))
    instance, parse_s = measure("parse_instance", lambda: parse_instance(document))
    review, engine_s = measure("access engine (build_report)", lambda: build_report(instance))
    sizes: dict[str, int] = {}
    times: dict[str, float] = {}
    for fmt in ("json", "table", "csv"):
        size, seconds = measure(
            f"report --format {fmt} (engine + render)",
            lambda fmt=fmt: consume(render_report(build_report(instance), fmt)),
        )
        sizes[fmt], times[fmt] = size, seconds
    if args.html:
        from audit.access_html import compact_island, iter_html_report
        from audit.access_report import report_document

        size, times["html"] = measure(
            "report --format html (engine + island + page)",
            lambda: consume(iter_html_report(build_report(instance))),
        )
        sizes["html"] = size
        # What the HTML path cost before the island was built from the engine: the whole
        # report document, then its compact island.
        _, times["html via document"] = measure(
            "  for comparison: document + its compact island",
            lambda: compact_island(report_document(build_report(instance))),
        )
    _, who_s = measure(
        f"who-can --repo {args.repo} --action read (json)",
        lambda: render_who_can(
            args.repo, "read", build_report(instance).entries(args.repo, "read"), "json"
        ),
    )
    answer = review.entries(args.repo, "read")
    print(
        f"answers: {review.principals_with_access} principals with access; who-can read "
        f"{args.repo}: {len(answer)} principals; report sizes: "
        + ", ".join(f"{fmt} {size / 2**20:.0f} MiB" for fmt, size in sizes.items())
    )
    print(
        f"relative to json.loads: parse x{parse_s / load_s:.1f}, engine x{engine_s / load_s:.1f}, "
        + ", ".join(f"report {fmt} x{t / load_s:.1f}" for fmt, t in times.items())
        + f", who-can x{who_s / load_s:.1f}"
    )


if __name__ == "__main__":
    main()
