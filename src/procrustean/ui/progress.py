"""Progress: a bar on a terminal and one line per epoch in logs (a training observer)."""

from __future__ import annotations

import statistics
import time
from typing import TextIO

from tqdm import tqdm


def _fmt_eta(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Progress:
    """Reports training progress to ``stream``; a tqdm bar only when it is a terminal."""

    def __init__(self, stream: TextIO, bar: bool | None = None) -> None:
        self.stream = stream
        self.bar_enabled = stream.isatty() if bar is None else bar
        self.bar: tqdm | None = None
        self.epoch_times: list[float] = []

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        self.epoch, self.epochs = epoch, epochs
        self.images, self.t0 = 0, time.perf_counter()
        if self.bar_enabled:
            self.bar = tqdm(
                total=steps,
                desc=f"epoch {epoch + 1}/{epochs}",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )

    def step(self, images: int) -> None:
        self.images += images
        if self.bar is not None:
            self.bar.update()

    def loss(self, value: float) -> None:
        """The latest training loss read from the device (every few steps)."""
        if self.bar is not None:
            rate = self.images / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix(loss=f"{value:.3f}", img_s=f"{rate:.0f}", refresh=False)

    def end_epoch(
        self, entry: dict, groups: dict[str, list[int]], img_per_s: float, seconds: float
    ) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.epoch_times.append(seconds)
        acc = entry["class_acc"]
        parts = [f"{g} {sum(acc[c] for c in cs) / len(cs):.3f}" for g, cs in groups.items() if cs]
        eta = statistics.median(self.epoch_times) * (self.epochs - self.epoch - 1)
        self.line(
            f"epoch {entry['epoch']}/{self.epochs} loss {entry['train_loss']:.4f} "
            f"train-acc {sum(acc) / len(acc):.3f} ({', '.join(parts)}) lr {entry['lr']:.4g} "
            f"{img_per_s:.0f} img/s eta {_fmt_eta(eta)}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
