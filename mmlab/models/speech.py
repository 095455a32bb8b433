"""The models of notebook 05 · Voice queries: spectrograms, MFCCs, a learned speech recogniser and an ASR pipeline.

Written, explained and trained in notebooks/05_voice_queries.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def valid_mask(lengths: Tensor, frames: int) -> Tensor:
    """(B, frames) True on the first ``lengths[i]`` frames of row i: the real frames, not the padding."""
    return torch.arange(frames)[None, :] < lengths[:, None]                 # (1, frames) < (B, 1) -> (B, frames)


class ConvBlock(nn.Module):
    """Conv1d over time -> LayerNorm over channels -> GELU, then padded frames reset to zero."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(channels_out)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv(x)                                                    # (B, C_in, T) -> (B, C_out, T')
        lengths = (lengths + 2 * self.conv.padding[0] - self.conv.kernel_size[0]) // self.conv.stride[0] + 1  # (B,)
        x = F.gelu(self.norm(x.transpose(1, 2)).transpose(1, 2))           # LayerNorm per frame: (B, C_out, T')
        return x * valid_mask(lengths, x.shape[2])[:, None, :], lengths     # padded frames = 0; T' per clip


class SpeechCTC(nn.Module):
    """(B, n_mels, T) standardised log-mel frames and lengths -> (B, T', classes) log-probabilities and T'."""

    def __init__(self, classes: int, n_mels: int = 40, channels: int = 128, hidden: int = 128,
                 layers: int = 1, dropout: float = 0.1, stride: int = 4) -> None:
        super().__init__()
        self.features = nn.ModuleList([ConvBlock(n_mels, channels, 5, stride), ConvBlock(channels, channels, 5, 1)])
        self.context = nn.GRU(channels, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                              dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, specs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        assert specs.ndim == 3 and lengths.shape == specs.shape[:1], "(B, n_mels, T) and (B,): use pad_features"
        x = specs                                                           # (B, n_mels, T)
        for block in self.features:
            x, lengths = block(x, lengths)                                  # (B, channels, T'), T' = (T-1)//stride+1
        packed = nn.utils.rnn.pack_padded_sequence(x.transpose(1, 2), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)    # (B, T', channels) without the padding
        states, _ = self.context(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=x.shape[2])
        return F.log_softmax(self.head(self.dropout(states)), dim=-1), lengths  # (B, T', 2·hidden) -> (B, T', classes)


@dataclass
class CTCBatch:
    """Padded spectrograms and their phoneme targets, as ``F.ctc_loss`` takes them."""

    specs: Tensor           # (B, n_mels, T) standardised log-mel frames, zero-padded
    lengths: Tensor         # (B,) real frames per clip
    targets: Tensor         # (sum of target_lengths,) every clip's phoneme ids, one clip after another
    target_lengths: Tensor  # (B,) phonemes per clip


def ctc_loss(model: SpeechCTC, batch: CTCBatch) -> Tensor:
    """The batch's mean CTC loss (each clip's divided by its number of phonemes)."""
    log_probs, lengths = model(batch.specs, batch.lengths)                 # (B, T', classes), (B,)
    return F.ctc_loss(log_probs.transpose(0, 1), batch.targets, lengths, batch.target_lengths, blank=0,
                      zero_infinity=True)                                   # time first: (T', B, classes)


def greedy_ids(log_probs: Tensor, lengths: Tensor) -> list[list[int]]:
    """Best class per frame, repeats merged, blanks dropped: the greedy CTC decode of each clip."""
    best = log_probs.argmax(dim=-1)                                         # (B, T') best class per frame
    out = []
    for row, n in zip(best, lengths.tolist()):
        path = row[:n].tolist()                                             # the clip's real frames only
        out.append([c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])])
    return out
