"""The multi-task SLU model (conformer encoder + task-prompted decoder), its loss and decoding.

    model = build_model("small", len(tokenizer), cmvn=(mean, std))
    criterion = SLUCriterion(model, tokenizer)
    loss = criterion(model(x), y)                       # what Avalanche runs
    ids = model.greedy_decode(model(x), y[:, :2], max_len=3)
"""
from benchmark.models.config import MODEL_SIZES, ModelConfig, get_config
from benchmark.models.criterion import SLUCriterion
from benchmark.models.slu import EncoderOutput, SLUModel, build_model, count_parameters

__all__ = [
    "MODEL_SIZES",
    "EncoderOutput",
    "ModelConfig",
    "SLUCriterion",
    "SLUModel",
    "build_model",
    "count_parameters",
    "get_config",
]
