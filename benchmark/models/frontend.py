"""Front end: validity channel -> lengths, global CMVN, SpecAugment, 4x conv subsampling."""
from __future__ import annotations

import math

import torch
import torchaudio
from torch import Tensor, nn


def split_features(x: Tensor) -> tuple[Tensor, Tensor]:
    """(B, T, n_mels + 1) batch tensor -> (feats (B, T, n_mels), lengths (B,) in frames).

    The last channel is 1.0 on valid frames and 0.0 on padding (the batch contract), so the model
    needs nothing but `x`: Avalanche plugins call `model(x)` themselves.
    """
    feats = x[..., :-1]
    lengths = (x[..., -1] > 0.5).sum(dim=1)
    return feats, lengths


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths -> (B, max_len) bool, True on valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class GlobalCMVN(nn.Module):
    """(feats - mean) / std with corpus-level statistics.

    Global rather than per-utterance so that level and pitch cues (emotion styles, speakers)
    survive. The statistics are persistent buffers: they travel in the state_dict, so a saved
    model normalises new data the way it was trained. They are not parameters (not counted).
    """

    def __init__(self, n_mels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("std", torch.ones(n_mels))

    def set_stats(self, mean: Tensor, std: Tensor) -> None:
        mean = torch.as_tensor(mean, dtype=self.mean.dtype).reshape(self.mean.shape)
        std = torch.as_tensor(std, dtype=self.std.dtype).reshape(self.std.shape)
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-5))

    def forward(self, feats: Tensor) -> Tensor:
        return (feats - self.mean) / self.std


class SpecAugment(nn.Module):
    """Frequency and time masking (Park et al. 2019), independent per utterance.

    Applied after CMVN, so masked cells are set to 0 = the corpus mean. The caller only uses it in
    training mode.
    """

    def __init__(self, freq_masks: int, freq_width: int, time_masks: int, time_width: int,
                 time_p: float) -> None:
        super().__init__()
        T = torchaudio.transforms
        self.masks = nn.ModuleList(
            [T.FrequencyMasking(freq_width, iid_masks=True) for _ in range(freq_masks)]
            + [T.TimeMasking(time_width, iid_masks=True, p=time_p) for _ in range(time_masks)]
        )

    def forward(self, feats: Tensor) -> Tensor:
        spec = feats.transpose(1, 2).unsqueeze(1)  # (B, 1, F, T): torchaudio's layout for iid masks
        for mask in self.masks:
            spec = mask(spec)
        return spec.squeeze(1).transpose(1, 2)


def subsampled_lengths(lengths: Tensor) -> Tensor:
    """Output lengths of two unpadded kernel-3, stride-2 convolutions: ((T - 1) // 2 - 1) // 2.

    Exactly the frames whose receptive field lies inside the valid input, so padding never leaks
    into valid outputs. At least 1, so that every row has a key to attend to.
    """
    return (((lengths - 1) // 2 - 1) // 2).clamp_min(1)


class Conv2dSubsampling(nn.Module):
    """4x time subsampling as in ESPnet's Conv2dSubsampling: two stride-2 Conv2d + Linear."""

    MIN_FRAMES = 7  # the shortest input that yields one output frame

    def __init__(self, n_mels: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, 2), nn.ReLU(), nn.Conv2d(channels, channels, 3, 2), nn.ReLU()
        )
        freq_out = ((n_mels - 1) // 2 - 1) // 2
        self.out = nn.Linear(channels * freq_out, d_model)

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if feats.size(1) < self.MIN_FRAMES:
            feats = nn.functional.pad(feats, (0, 0, 0, self.MIN_FRAMES - feats.size(1)))
        h = self.conv(feats.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = h.shape
        h = self.out(h.transpose(1, 2).reshape(b, t, c * f))
        return h, subsampled_lengths(lengths).clamp_max(t)


class SinusoidalPositions(nn.Module):
    """Fixed sin/cos position table (Vaswani et al. 2017). A buffer, not a parameter."""

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        self.d_model = d_model
        self.register_buffer("table", self._table(max_len), persistent=False)

    def _table(self, n: int, device: torch.device | None = None) -> Tensor:
        pos = torch.arange(n, dtype=torch.float32, device=device)[:, None]
        div = torch.exp(torch.arange(0, self.d_model, 2, dtype=torch.float32, device=device)
                        * (-math.log(10000.0) / self.d_model))
        table = torch.zeros(n, self.d_model, device=device)
        table[:, 0::2] = torch.sin(pos * div)
        table[:, 1::2] = torch.cos(pos * div)
        return table

    def forward(self, length: int, start: int = 0) -> Tensor:
        """(length, d_model) rows start..start+length-1."""
        if start + length > self.table.size(0):
            self.table = self._table(2 * (start + length), self.table.device).to(self.table)
        return self.table[start:start + length]
