"""Batched augmentation on whole uint8 batches, on the training device: no per-image work."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (in [0, 1] units) of uint8 NCHW images."""
    x = images.to(torch.float64).div_(255)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return mean.tolist(), std.tolist()


class BatchAugment:
    """Random crop with zero padding, random horizontal flip, per-channel normalisation.

    Random draws come from a CPU generator, so a seed gives the same augmentation on any device.
    """

    def __init__(
        self,
        mean: list[float],
        std: list[float],
        padding: int,
        flip: bool,
        device: torch.device,
        channels_last: bool = False,
    ) -> None:
        self.padding, self.flip, self.channels_last = padding, flip, channels_last
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1) * 255
        self.inv_std = 1 / (torch.tensor(std, device=device).view(1, -1, 1, 1) * 255)
        self.device = device

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> normalised float32, no augmentation (evaluation, clean passes)."""
        x = (images.to(self.device, non_blocking=True).float() - self.mean) * self.inv_std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def __call__(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Augment a uint8 NCHW batch and normalise it."""
        n, c, h, w = images.shape
        pad = self.padding
        x = images.to(self.device, non_blocking=True)
        if pad:
            offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=gen).to(self.device)
            padded = F.pad(x, (pad, pad, pad, pad))
            wp = w + 2 * pad
            rows = (offsets[0, :, None] + torch.arange(h, device=self.device)) * wp
            cols = offsets[1, :, None] + torch.arange(w, device=self.device)
            index = (rows[:, :, None] + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
            x = padded.view(n, c, -1).gather(2, index).view(n, c, h, w)
        if self.flip:
            mask = (torch.rand(n, generator=gen) < 0.5).to(self.device).view(n, 1, 1, 1)
            x = torch.where(mask, x.flip(3), x)
        return self.normalize(x)
