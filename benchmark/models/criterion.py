"""Training loss: teacher-forced decoder cross-entropy + auxiliary CTC on ASR rows."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.models.slu import EncoderOutput, SLUModel
from benchmark.text import PAD_TARGET, Tokenizer


class SLUCriterion(nn.Module):
    """`criterion(model(x), y) -> scalar loss`, the signature Avalanche templates and plugins use.

    y: (B, L) `prompt content <eos>` right-padded with PAD_TARGET (-100); batches may mix tasks.
    The prompt is `tokenizer.prompt_len` tokens (`<sot> <|task|>` for the conformer; five
    UniverSLU tokens for Whisper).
    loss = CE + ctc_weight * CTC, where
    - CE: label-smoothed cross-entropy of the decoder fed y[:, :-1] predicting y[:, 1:], over
      content and eos tokens only (prompt tokens are given, not predicted; pad ignored),
      averaged over those tokens in the batch.
    - CTC: over the encoder states of the rows whose task token is `<|asr|>`, character targets,
      blank = pad_id. torch's "mean" reduction: each row's loss is divided by its target length,
      then averaged over the ASR rows, so it is per character like CE. 0 when no row is ASR.

    The model is held by reference, not registered as a submodule, so criterion.parameters()
    and state_dict() stay empty: optimisers and checkpoints see the weights once. If a strategy
    swaps in another model object, call `criterion.set_model(new_model)`.
    """

    def __init__(self, model: SLUModel, tokenizer: Tokenizer, ctc_weight: float = 0.3,
                 label_smoothing: float = 0.1) -> None:
        super().__init__()
        self._model = [model]
        self.pad_id = tokenizer.pad_id  # the CTC blank (conformer)
        self.eos_id = tokenizer.eos_id
        self.prompt_len, self.task_pos = tokenizer.prompt_len, tokenizer.task_pos
        self.asr_id = tokenizer.task_token_id("asr")
        if ctc_weight > 0 and getattr(model, "ctc", None) is None:
            raise ValueError("ctc_weight > 0 needs a model with a CTC head (the conformer)")
        self.ctc_weight = ctc_weight
        self.label_smoothing = label_smoothing
        self.last: dict[str, Tensor] = {}  # detached parts of the last loss, for logging

    @property
    def model(self) -> SLUModel:
        return self._model[0]

    def set_model(self, model: SLUModel) -> None:
        """Point the criterion at another model object (a property setter cannot do this:
        nn.Module.__setattr__ would register the module as a submodule instead)."""
        self._model = [model]

    def decoder_logits(self, enc: EncoderOutput, y: Tensor, model: SLUModel | None = None,
                       positions: Tensor | None = None) -> Tensor:
        """Teacher-forced logits (B, L-1, V): position i predicts y[:, i + 1]; (N, V) for the
        `positions` ((B, L-1) bool) only, when given.

        `model` defaults to the trained model; pass e.g. a frozen copy for LwF distillation.
        """
        m = self.model if model is None else model
        inputs = y[:, :-1]
        valid = inputs != PAD_TARGET
        return m.decode_logits(enc, inputs.masked_fill(~valid, self.eos_id), token_valid=valid,
                               positions=positions)

    def loss_targets(self, y: Tensor) -> Tensor:
        """y[:, 1:] with the prompt tokens and padding set to -100 (ignored by the CE)."""
        targets = y[:, 1:].clone()
        targets[:, : self.prompt_len - 1] = -100
        targets[targets == PAD_TARGET] = -100
        return targets

    def ctc_loss(self, enc: EncoderOutput, y: Tensor, model: SLUModel | None = None) -> Tensor:
        m = self.model if model is None else model
        rows = y[:, self.task_pos] == self.asr_id
        if not bool(rows.any()):
            return enc.hidden.new_zeros(())
        content = y[rows, self.prompt_len:]
        keep = (content != PAD_TARGET) & (content != self.eos_id)
        target_lengths = keep.sum(1)
        targets = content[keep]  # concatenated 1-D targets: no padding conventions to get wrong
        log_probs = m.ctc(enc.hidden[rows]).float().log_softmax(-1).transpose(0, 1)  # (T, B, V)
        input_lengths = enc.mask[rows].sum(1)
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.pad_id,
                          reduction="mean", zero_infinity=True)

    def forward(self, enc: EncoderOutput, y: Tensor) -> Tensor:
        # logits only where a target is scored (not at prompt or padding positions: with
        # Whisper's 51,864-token output that is ~40 % of the output layer's work)
        targets = self.loss_targets(y)
        scored = targets != -100
        logits = self.decoder_logits(enc, y, positions=scored)
        ce = F.cross_entropy(logits.float(), targets[scored],
                             label_smoothing=self.label_smoothing)
        loss = ce
        parts = {"ce": ce.detach()}
        if self.ctc_weight > 0:
            ctc = self.ctc_loss(enc, y)
            loss = loss + self.ctc_weight * ctc
            parts["ctc"] = ctc.detach()
        self.last = parts
        return loss

