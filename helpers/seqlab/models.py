"""Small reference models for the demonstrations, built from PyTorch's own layers.

The exercises build these pieces from scratch; the demonstrations that compare architectures on the same
task (lessons 02, 03, 04 and 10) need fast, well-tested versions of them, and use these.

::

    model = RecurrentRegressor("lstm", input_size=2, hidden_size=32)
    y = model(X)                 # (B, T, 2) -> (B, 1): a readout of the last state
    H_all = model.states(X)      # (B, T, 32): every hidden state h_1 ... h_T

Lesson 09's GPT takes the student's decoder block and supplies the rest:

    model = GPT(DecoderBlock, vocab_size, max_len=64, d_model=128, num_heads=4, d_ff=384, num_layers=2)
    logits = model(tokens)                      # (B, T) int64 -> (B, T, V), the training loop's convention
    logits, caches = model.step(tokens, caches) # decoding: the new tokens after the cached ones

Lesson 10 pits four kinds of model against each other on two tasks, with the same interfaces:

    RecurrentRegressor / TransformerRegressor   (B, T, D) float32 -> (B, O)      (the adding problem)
    RecurrentTagger    / TransformerTagger      (B, T) int64 tokens -> (B, T, V) (copy-memory)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from seqlab.validate import check_int

__all__ = [
    "CharLanguageModel",
    "CarriedState",
    "detach_state",
    "GPT",
    "RECURRENT_LAYERS",
    "RecurrentRegressor",
    "RecurrentTagger",
    "TransformerRegressor",
    "TransformerTagger",
    "set_forget_gate_bias",
]

#: The recurrent layer behind each ``kind`` of RecurrentRegressor.
RECURRENT_LAYERS: dict[str, type[nn.Module]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def set_forget_gate_bias(lstm: nn.LSTM, value: float) -> None:
    """Set the forget-gate bias b_f of every layer of ``lstm`` to ``value`` (Gers et al. 2000), in place.

    PyTorch's ``nn.LSTM`` adds two bias vectors of size 4H, ``bias_ih_l{k}`` and ``bias_hh_l{k}``, with the gates in
    the order i, f, g, o: the forget gate's quarter ``[H:2H]`` of ``bias_ih`` becomes ``value`` and that of
    ``bias_hh`` 0, so their sum, the b_f of lesson 04's equations, is ``value``.  No other parameter changes, and no
    random number is drawn.
    """
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"lstm should be a torch.nn.LSTM, got {type(lstm).__name__}")
    if not lstm.bias:
        raise ValueError("this nn.LSTM was made with bias=False: it has no forget-gate bias to set")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"value should be a finite number, got {value!r}")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = float(value)
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0


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


# ---------------------------------------------------------------------------------------------------------------
# Token taggers and Transformer encoders (lesson 10: the showdown)
# ---------------------------------------------------------------------------------------------------------------


def _check_tokens(tokens: object, vocab_size: int) -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(
            f"tokens should be a (B, T) int64 tensor, got "
            f"{getattr(tokens, 'dtype', type(tokens).__name__)} {tuple(getattr(tokens, 'shape', ()))}"
        )
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size):
        raise ValueError(
            f"tokens should be ids from 0 to {vocab_size - 1}, got {int(tokens.min())} … {int(tokens.max())}"
        )
    return tokens


class RecurrentTagger(nn.Module):
    """One recurrent layer (tanh RNN, GRU or LSTM) that reads one-hot tokens and predicts a token at every step.

    No embedding table: token ``v`` enters as the one-hot vector ``e_v``, so the recurrent layer's input weights
    play the embedding's part.  A linear readout maps each hidden state to ``vocab_size`` logits.

    Args:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        vocab_size: V, token ids ``0 … V - 1`` in and V logits out.
        hidden_size: H.
    """

    def __init__(self, kind: str, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        if kind not in RECURRENT_LAYERS:
            raise ValueError(f"kind should be one of {sorted(RECURRENT_LAYERS)}, got {kind!r}")
        self.kind = kind
        self.vocab_size = check_int("vocab_size", vocab_size, expected="a positive int")
        self.recurrent = RECURRENT_LAYERS[kind](
            vocab_size, check_int("hidden_size", hidden_size, expected="a positive int"), batch_first=True
        )
        self.readout = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 token ids -> (B, T, V) logits."""
        _check_tokens(tokens, self.vocab_size)
        X = nn.functional.one_hot(tokens, self.vocab_size).float()  # (B, T, V)
        H_all, _ = self.recurrent(X)  # (B, T, H)
        return self.readout(H_all)


def _sinusoids(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model) fixed sinusoidal positions (Vaswani et al. 2017), float32; d_model even.

    Row ``t`` holds ``sin(t w_i)`` in column ``2i`` and ``cos(t w_i)`` in column ``2i + 1``, ``w_i = 10000^(-2i/d)``.
    """
    steps = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    rates = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))  # (d/2,)
    table = torch.zeros(length, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(steps * rates)
    table[:, 1::2] = torch.cos(steps * rates)
    return table.float()


class _TransformerEncoder(nn.Module):
    """Input map (built by the subclass) + fixed sinusoidal positions -> ``num_layers`` post-norm encoder layers.

    Non-causal: every position attends to every position.  Dropout is 0, so training is deterministic.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, num_layers: int, max_len: int) -> None:
        super().__init__()
        for name, value in (("d_model", d_model), ("num_heads", num_heads), ("d_ff", d_ff), ("num_layers", num_layers),
                            ("max_len", max_len)):  # fmt: skip
            check_int(name, value, expected="a positive int")
        if d_model % 2 or d_model % num_heads:
            raise ValueError(f"d_model should be even and divisible by num_heads, got {d_model} and {num_heads}")
        self.d_model, self.num_heads, self.d_ff, self.max_len = d_model, num_heads, d_ff, max_len
        layer = nn.TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.register_buffer("positions", _sinusoids(max_len, d_model), persistent=False)  # (max_len, d)

    def encode(self, Z: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) input vectors -> (B, T, d_model) encoder outputs (positions are added here)."""
        T = Z.shape[1]
        if self.max_len < T:
            raise ValueError(f"sequences of {T} steps are longer than max_len={self.max_len}: build a larger max_len")
        return self.encoder(Z + self.positions[:T])


class TransformerRegressor(_TransformerEncoder):
    """A Transformer encoder that reads real-valued steps and predicts from its LAST position.

    ``Linear(D, d_model)`` per step, plus fixed sinusoidal positions, then ``num_layers`` (default 1)
    ``nn.TransformerEncoderLayer`` (post-norm, ReLU, no dropout, non-causal), then ``Linear(d_model, O)`` of the
    last position's output: the counterpart of :class:`RecurrentRegressor`.

    Args:
        input_size: D, features per step.
        d_model, num_heads, d_ff: the encoder layer's width, heads and feed-forward width.
        output_size: O.
        num_layers: encoder layers.
        max_len: longest sequence accepted (positions are precomputed up to it).
    """

    def __init__(self, input_size: int, d_model: int, num_heads: int, d_ff: int, output_size: int = 1,
                 num_layers: int = 1, max_len: int = 1024) -> None:  # fmt: skip
        super().__init__(d_model, num_heads, d_ff, num_layers, max_len)
        self.input_size = check_int("input_size", input_size, expected="a positive int")
        self.embed = nn.Linear(input_size, d_model)
        self.readout = nn.Linear(d_model, check_int("output_size", output_size, expected="a positive int"))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """(B, T, D) float -> (B, O), read off the last position."""
        if not isinstance(X, torch.Tensor) or X.dim() != 3 or X.shape[-1] != self.input_size:
            raise ValueError(
                f"X should be a (B, T, {self.input_size}) tensor, got {getattr(X, 'shape', type(X).__name__)}"
            )
        return self.readout(self.encode(self.embed(X))[:, -1])


class TransformerTagger(_TransformerEncoder):
    """A Transformer encoder that reads tokens and predicts a token at every position.

    ``nn.Embedding(V, d_model)`` (the same as a one-hot vector times a bias-free ``Linear``; not scaled by
    sqrt(d_model)), plus fixed sinusoidal positions, then ``num_layers`` (default 1) ``nn.TransformerEncoderLayer``
    (post-norm, ReLU, no dropout, non-causal), then ``Linear(d_model, V)`` at every position: the counterpart of
    :class:`RecurrentTagger`.

    Args:
        vocab_size: V, token ids ``0 … V - 1`` in and V logits out.
        d_model, num_heads, d_ff, num_layers, max_len: as in :class:`TransformerRegressor`.
    """

    def __init__(self, vocab_size: int, d_model: int, num_heads: int, d_ff: int, num_layers: int = 1,
                 max_len: int = 1024) -> None:  # fmt: skip
        super().__init__(d_model, num_heads, d_ff, num_layers, max_len)
        self.vocab_size = check_int("vocab_size", vocab_size, expected="a positive int")
        self.embed = nn.Embedding(vocab_size, d_model)
        self.readout = nn.Linear(d_model, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 token ids -> (B, T, V) logits."""
        _check_tokens(tokens, self.vocab_size)
        return self.readout(self.encode(self.embed(tokens)))


# ---------------------------------------------------------------------------------------------------------------
# Character language models (lesson 08)
# ---------------------------------------------------------------------------------------------------------------


class CharLanguageModel(nn.Module):
    """Embedding → one recurrent layer (GRU or LSTM) → linear readout: the logits of the next character.

    ``model(X)`` is the calling convention of lesson 08's training loop: ``(B, T)`` int64 ids → ``(B, T, V)`` logits,
    every sequence starting from a zero state.  ``model.step(X, state)`` also takes and returns the recurrent state,
    for decoding one token at a time and for carrying the state across batches (:class:`CarriedState`).

    Args:
        vocab_size: V.
        embed_dim: E, the size of each character's embedding.
        hidden_size: H.
        kind: ``"gru"`` or ``"lstm"``.
        dropout: dropout on the embeddings and on the hidden states before the readout (0 = none).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, kind: str = "gru", dropout: float = 0.0):
        super().__init__()
        if kind not in ("gru", "lstm"):
            raise ValueError(f"kind should be 'gru' or 'lstm', got {kind!r}")
        self.kind = kind
        self.vocab_size = check_int("vocab_size", vocab_size, expected="a positive int")
        self.embedding = nn.Embedding(vocab_size, check_int("embed_dim", embed_dim, expected="a positive int"))
        self.recurrent = RECURRENT_LAYERS[kind](
            embed_dim, check_int("hidden_size", hidden_size, expected="a positive int"), batch_first=True
        )
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(hidden_size, vocab_size)

    def step(self, tokens: torch.Tensor, state: object = None) -> tuple[torch.Tensor, object]:
        """(B, T) ids and the state after the previous tokens (``None``: zeros) → (B, T, V) logits, new state.

        The state is the recurrent layer's: ``h`` ``(1, B, H)`` for a GRU, the pair ``(h, c)`` for an LSTM.
        """
        _check_tokens(tokens, self.vocab_size)
        E = self.dropout(self.embedding(tokens))  # (B, T, E)
        H_all, state = self.recurrent(E, state)  # (B, T, H)
        return self.readout(self.dropout(H_all)), state

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 ids → (B, T, V) logits, from a zero state."""
        return self.step(tokens)[0]


def detach_state(state: object) -> object:
    """The recurrent state cut from the graph that made it (a tensor, a tuple of tensors, or ``None``)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class CarriedState(nn.Module):
    """Truncated backpropagation through time: each call starts where the previous call's sequences ended.

    Wraps a :class:`CharLanguageModel`; ``carried(X)`` runs ``model.step(X, state)`` from the state the previous
    call left, then keeps the new state *detached*: the forward pass sees the whole history, gradients flow back
    through this batch only.  Row ``b`` of each batch must continue row ``b`` of the previous one
    (:func:`seqlab.data.consecutive_batches`).  ``reset()`` forgets the state.
    """

    def __init__(self, model: CharLanguageModel) -> None:
        super().__init__()
        self.model = model
        self.state: object = None

    def reset(self) -> None:
        self.state = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) ids → (B, T, V) logits, starting from the carried state."""
        logits, state = self.model.step(tokens, self.state)
        self.state = detach_state(state)
        return logits


# ---------------------------------------------------------------------------------------------------------------
# A small GPT around the student's decoder blocks (lesson 09)
# ---------------------------------------------------------------------------------------------------------------


class GPT(nn.Module):
    """Token and position embeddings → ``num_layers`` decoder blocks → a final LayerNorm → logits (tied output).

    The blocks are the student's: ``block(d_model, num_heads, d_ff)`` builds one, and ``block_module(x, cache)``
    returns ``(y, cache)`` (lesson 09's ``DecoderBlock``).  The output layer is the token embedding itself,
    ``logits = norm(x) @ token_embedding.weight.T`` (weight tying, as GPT-2 does), so it has no parameters of its own.

    Initialisation (GPT-2's, after the blocks are built): every ``nn.Linear`` and ``nn.Embedding`` weight
    ``N(0, 0.02²)``, biases 0, LayerNorms 1 and 0; the two projections that write into the residual stream, each
    block's ``attn.W_o`` and ``ff2``, ``N(0, (0.02 / √(2 · num_layers))²)``, so the stream's variance does not grow
    with depth.  Found by attribute name, whatever order the block creates its submodules in.

    Args:
        block: the decoder block class (or any callable ``(d_model, num_heads, d_ff) -> nn.Module``).
        vocab_size: V.
        max_len: the longest sequence the model reads (learned positions ``0 … max_len - 1``).
        d_model, num_heads, d_ff, num_layers: the blocks' width, heads, feed-forward width, and how many.
        dropout: dropout on the summed embeddings and on what each block adds to the residual stream (``x + drop(
            block(x) - x)`` while training; 0 = none, and in eval mode the block's output as it is).
    """

    def __init__(self, block: Callable[[int, int, int], nn.Module], vocab_size: int, max_len: int, d_model: int,
                 num_heads: int, d_ff: int, num_layers: int, dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("max_len", max_len), ("d_model", d_model),
                            ("num_heads", num_heads), ("d_ff", d_ff), ("num_layers", num_layers)):  # fmt: skip
            check_int(name, value, expected="a positive int")
        self.vocab_size, self.max_len, self.d_model = vocab_size, max_len, d_model
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(block(d_model, num_heads, d_ff) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self._init_weights(num_layers)

    def _init_weights(self, num_layers: int) -> None:
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear | nn.Embedding):
                    module.weight.normal_(0.0, 0.02)
                    if getattr(module, "bias", None) is not None:
                        module.bias.zero_()
                elif isinstance(module, nn.LayerNorm):
                    module.reset_parameters()
            for block in self.blocks:
                for name in ("attn.W_o", "ff2"):
                    try:
                        layer = block.get_submodule(name)
                    except AttributeError:  # a block without that part: nothing to scale
                        continue
                    if isinstance(layer, nn.Linear):
                        layer.weight.normal_(0.0, 0.02 / math.sqrt(2 * num_layers))

    def step(self, tokens: torch.Tensor, caches: list | None = None) -> tuple[torch.Tensor, list]:
        """``(B, T_new)`` ids after the cached positions → ``(B, T_new, V)`` logits and the extended caches.

        ``caches`` is ``None`` (nothing before) or the list the previous call returned, one block's cache each: the
        pair ``(K, V)``, each ``(B, heads, T_past, d_head)``.  The new tokens take positions
        ``T_past … T_past + T_new - 1``; raises ``ValueError`` past ``max_len``.
        """
        _check_tokens(tokens, self.vocab_size)
        if caches is not None and (not isinstance(caches, list | tuple) or len(caches) != len(self.blocks)):
            raise ValueError(f"caches should be None or a list of {len(self.blocks)} block caches, got {caches!r:.80}")
        T_past = 0 if caches is None else caches[0][0].shape[2]
        T_new = tokens.shape[1]
        if T_past + T_new > self.max_len:
            raise ValueError(
                f"positions {T_past} … {T_past + T_new - 1} go past max_len={self.max_len}: "
                f"this model reads at most {self.max_len} tokens"
            )
        positions = torch.arange(T_past, T_past + T_new, device=tokens.device)
        x = self.dropout(self.token_embedding(tokens) + self.position_embedding(positions))  # (B, T_new, d)
        new_caches = []
        for i, block in enumerate(self.blocks):
            y, cache = block(x, None if caches is None else caches[i])  # (B, T_new, d)
            # residual dropout on what the block adds to the stream (training only; in eval mode y itself)
            x = x + self.dropout(y - x) if self.training and self.dropout.p > 0 else y
            new_caches.append(cache)
        return self.norm(x) @ self.token_embedding.weight.T, new_caches  # (B, T_new, V)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 ids → (B, T, V) logits, every position attending to itself and the ones before."""
        return self.step(tokens)[0]
