"""Small reference models for the demonstrations, built from PyTorch's own layers.

The exercises build these pieces from scratch; the demonstrations that compare architectures on the same
task (lessons 02, 03, 04 and 08) need fast, well-tested versions of them, and use these.

::

    model = RecurrentRegressor("lstm", input_size=2, hidden_size=32)
    y = model(X)                 # (B, T, 2) -> (B, 1): a readout of the last state
    H_all = model.states(X)      # (B, T, 32): every hidden state h_1 ... h_T
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RECURRENT_LAYERS", "RecurrentRegressor"]

#: The recurrent layer behind each ``kind`` of RecurrentRegressor.
RECURRENT_LAYERS: dict[str, type[nn.Module]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentRegressor(nn.Module):
    """One recurrent layer (tanh RNN, GRU or LSTM) and a linear readout of its last hidden state.

    Args:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        input_size: D, features per step.
        hidden_size: H.
        output_size: O, outputs per sequence.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1) -> None:
        super().__init__()
        if kind not in RECURRENT_LAYERS:
            raise ValueError(f"kind should be one of {sorted(RECURRENT_LAYERS)}, got {kind!r}")
        self.kind = kind
        self.recurrent = RECURRENT_LAYERS[kind](input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    def states(self, X: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, H): the hidden states h_1 ... h_T (for an LSTM, its outputs h, not its cells c)."""
        if not isinstance(X, torch.Tensor) or X.dim() != 3:
            raise ValueError(f"X should be a (B, T, D) tensor, got {getattr(X, 'shape', type(X).__name__)}")
        H_all, _ = self.recurrent(X)
        return H_all

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, O), read off the last hidden state."""
        return self.readout(self.states(X)[:, -1])
