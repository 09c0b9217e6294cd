"""Shared fixtures: the bundled demo dataset and emulated Nexus servers that stop themselves."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from audit.emulator import NexusEmulator, load_dataset

MakeEmulator = Callable[..., NexusEmulator]


@functools.lru_cache(maxsize=1)
def _demo() -> dict[str, Any]:
    return load_dataset("demo")


@pytest.fixture()
def demo_dataset() -> dict[str, Any]:
    """A fresh deep copy of the bundled "Acme" demo dataset, safe to change."""
    return copy.deepcopy(_demo())


@pytest.fixture()
def make_emulator() -> Iterator[MakeEmulator]:
    """Start emulators on free loopback ports: ``make_emulator(dataset, context_path="")``."""
    started: list[NexusEmulator] = []

    def make(dataset: Mapping[str, Any] | None = None, context_path: str = "") -> NexusEmulator:
        emulator = NexusEmulator(
            copy.deepcopy(_demo()) if dataset is None else dataset, context_path=context_path
        )
        started.append(emulator.start())
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture()
def emulator(demo_dataset: dict[str, Any]) -> Iterator[NexusEmulator]:
    """The demo instance, served over HTTP on a free loopback port for one test."""
    with NexusEmulator(demo_dataset) as running:
        yield running
