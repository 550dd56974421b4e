"""Why a mas run stops learning: the penalty's pull on each weight against the task loss's.

    python scripts/mas_penalty_scale.py RUN_DIR/checkpoint.pt [--batches 8]

The checkpoint is a mas run's resume checkpoint (the run's config.json beside it). At those
weights, which are also MAS's anchor, it averages the gradient g of the training loss over a few
batches of the run's next experience, and reads the blended importance Omega. With Adam every
weight moves about one learning rate per step whatever its gradient's size, until the penalty's
gradient 2 * lambda * Omega * dw cancels the loss's. So a weight settles at most

    dw* = |g| / (2 * lambda * Omega)

from its anchor. Printed in Adam steps (dw* / lr) over the trainable weights: where dw* is under
one step, the weight cannot leave the anchor and the task cannot be learnt through it; dw*
scales as 1 / lambda. Also printed: the mean L2 norm of the decoder's token logits, since the
importance is the gradient of their *squared* norm (strategies/mas.py), about 2 * ||logits||
times the gradient of the plain norm that Avalanche's MASPlugin takes.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark.models.backbones import build_backbone
from benchmark.models.criterion import SLUCriterion
from benchmark.streams import collate, load_subset


def quantiles(t: torch.Tensor, qs=(0.1, 0.5, 0.9)) -> str:
    t = t.flatten()
    if t.numel() > 4_000_000:  # torch.quantile's input limit is 2**24; a strided sample is plenty
        t = t[:: t.numel() // 4_000_000 + 1]
    return " / ".join(f"{float(v):.3g}" for v in torch.quantile(t.double(), torch.tensor(qs,
                                                                dtype=torch.double)))


@dataclass
class PenaltyScale:
    """What one mas checkpoint's next experience meets: per trainable weight, the loss's mean
    gradient `grad` over the batches and the importance `omega` (both name -> tensor)."""
    done: int
    subsets: list[str]
    lam: float
    lr: float
    batch_size: int
    grad: dict[str, torch.Tensor]
    omega: dict[str, torch.Tensor]
    loss: float
    logit_norm: float

    def steps(self) -> torch.Tensor:
        """dw* / lr for every trainable weight, flattened in `grad`'s order."""
        g = torch.cat([t.abs().flatten() for t in self.grad.values()])
        om = torch.cat([self.omega[n].float().flatten() for n in self.grad])
        return g / (2 * self.lam * om.clamp_min(1e-30)) / self.lr


def measure(checkpoint: Path, batches: int = 8, corpus: Path | None = None) -> PenaltyScale:
    config = json.loads((checkpoint.parent / "config.json").read_text())
    train = config["train"]
    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    done = int(ck["completed"])
    subsets = config["stream_experiences"][done]
    backbone = build_backbone(train["model"], train_embeddings=train["train_embeddings"])
    model, tok = backbone.model, backbone.tokenizer
    model.load_state_dict(ck["model"])
    model.train()  # as the run trains
    crit = SLUCriterion(model, tok, ctc_weight=train["ctc_weight"])
    items = []
    for subset in subsets:
        ds, _rows = load_subset(corpus or Path(config["corpus"]), subset, "train", tok,
                                feature_kind=backbone.feature_kind)
        items += [(*ds[i], 0) for i in range(len(ds))]
    bs = train["batch_size"]
    items = [items[i] for i in torch.randperm(len(items))[: batches * bs].tolist()]
    grad = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    norms, losses = [], []
    for b in range(batches):
        x, y, _t = collate(items[b * bs:(b + 1) * bs])
        model.zero_grad()
        enc = model(x)
        loss = crit(enc, y)
        loss.backward()
        losses.append(float(loss.detach()))
        for n, p in model.named_parameters():
            if n in grad and p.grad is not None:
                grad[n] += p.grad / batches
        with torch.no_grad():
            scored = crit.loss_targets(y) != -100
            norms.append(crit.decoder_logits(enc, y, positions=scored).float().norm(dim=-1))
    return PenaltyScale(done, subsets, config["strategy"]["mas_lambda"], train["lr"], bs, grad,
                        ck["strategy"]["importance"], sum(losses) / len(losses),
                        float(torch.cat(norms).mean()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--batches", type=int, default=8, help="batches of the next experience")
    ap.add_argument("--corpus", type=Path, help="default: the run's (config.json)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = measure(args.checkpoint, args.batches, args.corpus)
    g = torch.cat([t.abs().flatten() for t in m.grad.values()])
    om = torch.cat([m.omega[n].float().flatten() for n in m.grad])
    steps = m.steps()
    print(f"{args.checkpoint}: after experience {m.done}, next {'+'.join(m.subsets)}; "
          f"mas_lambda {m.lam:g}, lr {m.lr:g}; {g.numel():,} trainable weights; "
          f"{args.batches} batches of {m.batch_size} (loss {m.loss:.3f})")
    print(f"  Omega (10th / 50th / 90th percentile): {quantiles(om)}; mean {float(om.mean()):.4g}; "
          f"zero for {float((om == 0).double().mean()):.1%}")
    print(f"  |g| of the loss:                       {quantiles(g)}; mean {float(g.mean()):.3g}")
    print(f"  dw* in Adam steps (|g| / (2 lambda Omega) / lr): {quantiles(steps)}")
    for k in (1, 10, 100):
        print(f"    weights that can move at most {k:>3} step(s): "
              f"{float((steps < k).double().mean()):.1%}")
    print(f"  mean L2 norm of the token logits: {m.logit_norm:.1f} "
          "(the squared norm's gradient is 2 * norm times the plain norm's)")


if __name__ == "__main__":
    main()
