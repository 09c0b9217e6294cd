"""Benchmark the preflight on a large generated instance: time and peak memory per stage.

Usage: python bench/bench_check.py [--repos 2000 --users 10000 --roles 1000]

Reports each stage relative to just loading the snapshot JSON, the yardstick the README
quotes: parsing into the model, one full `check` for one user over every Docker repository,
and `can-i` for every user (the engine once per distinct user).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402

from audit.checks import audit, can_i  # noqa: E402
from audit.model import parse_instance  # noqa: E402


def measure(label: str, work: Callable[[], Any]) -> tuple[Any, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<46} {seconds:8.3f} s  peak {peak:8.1f} MiB")
    return value, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--roles", type=int, default=1000)
    args = parser.parse_args()
    text = json.dumps(generate(args.repos, args.users, args.roles))
    print(
        f"snapshot: {len(text) / 2**20:.1f} MiB, {args.repos} repos, {args.users} users, "
        f"{args.roles} roles"
    )
    document, load_s, _ = measure("json.loads (yardstick)", lambda: json.loads(text))
    instance, parse_s, _ = measure("parse_instance", lambda: parse_instance(document))
    _, check_s, _ = measure(
        "check: one user, every Docker repository", lambda: audit(instance, user_id="user00001")
    )
    permission = "nexus:repository-view:docker:team0-hosted:read"
    _, all_s, _ = measure(
        "can-i: every user, one permission",
        lambda: [can_i(instance, [permission], user_id=u.user_id) for u in instance.users or ()],
    )
    print(
        f"relative to json.loads: parse x{parse_s / load_s:.1f}, check x{check_s / load_s:.1f}, "
        f"can-i all users x{all_s / load_s:.1f}"
    )


if __name__ == "__main__":
    main()
