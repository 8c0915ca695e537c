"""What a training run tells the outside while it runs: the protocol the trainer calls, a
fan-out over several observers, and the epoch clock whose figures go into the run's record.

The trainer (stage code) knows only this protocol; the user interface (procrustean.ui: the
progress line, TensorBoard scalars) implements it and the CLI passes the observers in, so no
stage imports a wing and nothing an observer does can reach an output.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Protocol


class TrainingObserver(Protocol):
    """Receives a run's progress; every method may do nothing."""

    def line(self, text: str) -> None: ...

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None: ...

    def step(self, images: int) -> None: ...

    def loss(self, value: float) -> None: ...

    def end_epoch(
        self, entry: dict, groups: dict[str, list[int]], img_per_s: float, seconds: float
    ) -> None: ...

    def close(self) -> None: ...


class Observers:
    """Calls each observer in turn (none: a silent run)."""

    def __init__(self, observers: Sequence[TrainingObserver] = ()) -> None:
        self.observers = tuple(observers)

    def line(self, text: str) -> None:
        for o in self.observers:
            o.line(text)

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        for o in self.observers:
            o.start_epoch(epoch, epochs, steps)

    def step(self, images: int) -> None:
        for o in self.observers:
            o.step(images)

    def loss(self, value: float) -> None:
        for o in self.observers:
            o.loss(value)

    def end_epoch(
        self, entry: dict, groups: dict[str, list[int]], img_per_s: float, seconds: float
    ) -> None:
        for o in self.observers:
            o.end_epoch(entry, groups, img_per_s, seconds)

    def close(self) -> None:
        for o in self.observers:
            o.close()


class EpochClock:
    """Wall time and throughput of the epochs run in this process (the record's ``timing``)."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.times: list[float] = []
        self.t0 = time.perf_counter()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def stop(self, images: int) -> tuple[float, float]:
        """The epoch's images per second and seconds."""
        elapsed = time.perf_counter() - self.t0
        rate = images / max(elapsed, 1e-9)
        self.rates.append(rate)
        self.times.append(elapsed)
        return rate, elapsed

    def summary(self) -> dict:
        """Throughput figures of the epochs run in this process."""
        return {
            "epochs_timed": len(self.rates),
            "median_img_per_s": round(statistics.median(self.rates), 1) if self.rates else None,
            "seconds": round(sum(self.times), 2),
        }
