"""Masked training through per-task masks (shared by the subnet and packnet strategies), and the

How a task gets its mask, and how the shared weights are trained through it:
1. Search (only for tasks without a mask), always on a COPY of the model so that finding a new
   task's mask cannot damage earlier tasks:
   - the copy is trained densely on the task's data (on the first experience, on the whole
     experience: for the adaptation stream that is the joint multi-task base), then
   - iterative magnitude pruning (`benchmark.masks.iterative_magnitude_pruning`) removes
     `per_round` of the remaining weights per round, training `round_epochs` through the mask
     between rounds, until `sparsity` is reached.
   On the first experience the shared model adopts the dense-trained copy (there is nothing to
   protect yet); later, only the mask is kept and the shared weights are left alone.
2. Training: every batch holds one task (task-grouped batches); the task's view (W * mask) is
   materialised, gradients outside the update mask are zeroed, and after each optimizer step the
   weights outside the update mask are reset to their view values. Leaving a task's view merges
   the trained subnetwork back, so weights outside it keep their values for the other tasks.
   - update="subnet": the update mask is the task's mask (the paper).
   - update="exclusive": only weights in no other task's mask are updated, so other tasks'
     subnetworks are untouched by construction.
3. Shared parameters no mask covers (norms, biases, embeddings) are trained in the first
   experience only when `freeze_shared` (default; forced for update="exclusive"), so later
   experiences cannot move them. With "exclusive" every earlier task's metric stays unchanged.
   With task_tokens="own" a task still trains the embedding rows of the prompt tokens only it
   uses (`own_prompt_rows`): otherwise a task first met after experience 0 keeps its task
   token at its initial value.
4. Evaluation of a task runs through its own mask (`eval_context`).
"""
from __future__ import annotations

import copy
import json
import random
import time

import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.core import SupervisedPlugin

from benchmark import masks as M
from benchmark.memory import release_free_memory
from benchmark.tasks import SUBSETS, TASK_BY_INDEX, TASKS
from benchmark.training.template import pin_memory_for


def single_experience(dataset):
    """A one-experience Avalanche stream over `dataset` (to train a copy with a template)."""
    return with_task_labels(benchmark_from_datasets(train=[dataset])).train_stream[0]


class TaskGroupedBatches(torch.utils.data.Sampler):
    """Shuffled batches that each hold utterances of a single task (so one mask per step)."""

    def __init__(self, task_labels: list[int], batch_size: int, seed: int):
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0
        self.groups: dict[int, list[int]] = {}
        for i, t in enumerate(task_labels):
            self.groups.setdefault(int(t), []).append(i)

    def __iter__(self):
        rng = random.Random(self.seed * 1000 + self.epoch)
        self.epoch += 1
        batches = []
        for idx in self.groups.values():
            idx = idx[:]
            rng.shuffle(idx)
            batches += [idx[i:i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        rng.shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        return sum(-(-len(v) // self.batch_size) for v in self.groups.values())


class MaskedTraining(SupervisedPlugin):
    """Trains through per-task masks: materialise the batch's task view, mask gradients, keep
    the view exact after each step, merge back when the task (or experience) changes.

    What each experience may update is decided by its owner through `plan(strategy) ->
    (update_masks, frozen)`, which this plugin calls itself at the start of the experience,
    right before it builds the task-grouped loader: so the owner's decisions can never come
    after the loader, whatever the order of the plugins. Without `plan`, the fixed
    `update_masks` and `frozen` given here apply (one-off training of a copy)."""

    def __init__(self, masks: M.TaskMasks, update_masks: dict | None = None,
                 frozen: list[str] | None = None, seed: int = 0, plan=None):
        super().__init__()
        self.masks, self.seed, self.plan = masks, seed, plan
        self.update_masks, self.frozen = update_masks or {}, frozen or []
        # task -> {name of a frozen parameter: rows the task may still train} (own_prompt_rows)
        self.trainable_rows: dict[str, dict[str, torch.Tensor]] = {}
        self.current = None
        self.dense = None
        self._row_steps: list = []

    def switch(self, model, task: str | None) -> None:
        if self.current is not None:
            M.restore(model, self.dense, self.masks.get(self.current),
                      self.update_masks[self.current])
            self.current, self.dense = None, None
        if task is not None:
            self.dense = M.materialize(model, self.masks.get(task))
            self.current = task
            # Per-step work is one masked_fill_ and one where per tensor; everything that does
            # not change during the task's steps is computed here once (the step stays cheap).
            params = dict(model.named_parameters())
            update = self.update_masks[task]
            self._steps = [(params[n], ~update[n], update[n], self.dense[n] * mask)
                           for n, mask in self.masks.get(task).items()]

    def before_training_exp(self, strategy, **kw):
        if self.plan is not None:
            self.update_masks, self.frozen = self.plan(strategy)
        ds = strategy.adapted_dataset
        sampler = TaskGroupedBatches(list(ds.targets_task_labels), strategy.train_mb_size,
                                     self.seed)
        strategy.dataloader = torch.utils.data.DataLoader(
            ds, batch_sampler=sampler, collate_fn=ds.collate_fn,
            pin_memory=pin_memory_for(strategy.device))

    def before_training_epoch(self, strategy, **kw):
        if self.frozen:  # no running statistics may drift either (none in our model; be safe)
            for m in strategy.model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def before_training_iteration(self, strategy, **kw):
        t = strategy.mb_task_id
        task = TASK_BY_INDEX[int(t[0])].id
        assert bool((t == t[0]).all()), "subnet training needs single-task batches"
        if task != self.current:
            self.switch(strategy.model, task)

    @torch.no_grad()
    def after_backward(self, strategy, **kw):
        # == M.mask_gradients + M.freeze_grads, with the masks precomputed in switch()
        for p, frozen, _update, _view in self._steps:
            if p.grad is not None:
                p.grad.masked_fill_(frozen, 0)
        rows = self.trainable_rows.get(self.current, {})
        M.freeze_grads(strategy.model, [n for n in self.frozen if n not in rows])
        # a frozen table with rows this task may train: only those rows keep their gradient,
        # and every other row is put back after the step (decay, other tasks' stale moments)
        self._row_steps = []
        params = dict(strategy.model.named_parameters()) if rows else {}
        for name, own in rows.items():
            p = params[name]
            if name in self.frozen and p.grad is not None:
                others = torch.ones(p.shape[0], dtype=torch.bool, device=p.device)
                others[own.to(p.device)] = False
                p.grad[others] = 0
                self._row_steps.append((p, others, p[others].clone()))

    @torch.no_grad()
    def after_update(self, strategy, **kw):
        # == M.enforce_view: weights outside the update mask go back to their view values
        # (AdamW's decoupled decay and stale moments move them even with zero gradients).
        for p, _frozen, update, view in self._steps:
            torch.where(update, p, view, out=p)
        for p, others, before in self._row_steps:
            p[others] = before

    def after_training_exp(self, strategy, **kw):
        self.switch(strategy.model, None)


def own_prompt_rows(model, tokenizer) -> dict[str, dict[str, torch.Tensor]]:
    """Per task: the embedding rows of the prompt tokens no other task's prompt holds (its task
    specifier such as `<|ic|>`; LID's `<|audio|>`), as {parameter name: row indices}. Training
    them changes no other task's input, so they need not be frozen with the shared tables."""
    prompts = {t: set(tokenizer.prompt(t)) for t in TASKS}
    out = {}
    for task, ids in prompts.items():
        rows: dict[str, list[int]] = {}
        for i in sorted(ids.difference(*(p for u, p in prompts.items() if u != task))):
            name, row = model.token_row(i)
            rows.setdefault(name, []).append(row)
        out[task] = {n: torch.tensor(r) for n, r in rows.items()}
    return out


class SubnetStrategy(SupervisedPlugin):
    """Finds masks for new tasks (on a copy), then sets up `MaskedTraining` for the experience."""

    def __init__(self, cfg, ctx, make_template):
        super().__init__()
        self.cfg, self.ctx, self.make_template = cfg, ctx, make_template
        self.masks = M.TaskMasks.for_model(ctx.model)
        self.frozen_names = M.unmasked_parameter_names(ctx.model, self.masks.ones())
        self.trained = False
        self.search_log: dict[str, dict] = {}
        self.trainer = MaskedTraining(self.masks, seed=ctx.seed, plan=self.plan_experience)
        if cfg.task_tokens == "own":
            self.trainer.trainable_rows = own_prompt_rows(ctx.model, ctx.tokenizer)

    # -- search ---------------------------------------------------------------------------
    def _train_copy(self, model, dataset, epochs: int, mask=None, task=None) -> None:
        plugins = []
        if mask is not None:
            masks = M.TaskMasks.for_model(model)
            masks.set(task, mask)
            plugins.append(MaskedTraining(masks, {task: mask}, seed=self.ctx.seed))
        if epochs > 0:
            self.make_template(model, epochs, plugins).train(single_experience(dataset),
                                                             eval_streams=[])
        # The copy's gradients would be deep-copied with it, and its freed optimizer moments
        # and activations stay in glibc's heap (many tensors under its mmap threshold): both
        # add to the search's peak. With `work = base` below, measured on seven_task at 32
        # train / 16 test utterances per task, fp32, one thread: peak RSS 3,476 -> 3,052 MiB
        # (naive: 2,536), the same scores to the last digit.
        model.zero_grad(set_to_none=True)
        release_free_memory()

    def _round_trainer(self, task_data, task):
        """IMP's train_fn: later rounds train `round_epochs` on the task's data through the
        current mask. Round 1 starts from weights trained densely on the whole experience, and
        with first_round="dense" skips training: an experience of several tasks (adaptation's
        first) then cuts the same weights for each of them in round 1 (20 of the 36 % sparsity),
        which first_round="task" avoids at the cost of round_epochs more per task."""
        rounds = {"n": 0}

        def train_fn(model, mask):
            rounds["n"] += 1
            if rounds["n"] > 1 or self.cfg.first_round == "task":
                self._train_copy(model, task_data, self.cfg.round_epochs, mask, task)

        return train_fn

    def search(self, strategy, new_tasks: list[str]) -> None:
        cfg, data = self.cfg, strategy.adapted_dataset
        t0 = time.perf_counter()
        # the last step's gradients would be copied with the model, and are held through the
        # search for nothing: every training step starts by setting them to None
        strategy.model.zero_grad(set_to_none=True)
        base = copy.deepcopy(strategy.model)
        self._train_copy(base, data, self.ctx.train.epochs)  # dense, on the whole experience
        dense_s = time.perf_counter() - t0
        if not self.trained:
            strategy.model.load_state_dict(base.state_dict())
        for k, task in enumerate(new_tasks):
            t1 = time.perf_counter()
            labels = data.targets_task_labels
            task_data = data.subset([i for i in range(len(data))
                                     if int(labels[i]) == TASKS[task].index])
            # the last task searches on `base` itself: nothing reads it afterwards, and a
            # model's copy fewer is held through the search's training
            work = base if k == len(new_tasks) - 1 else copy.deepcopy(base)
            free = M.mask_not(self.masks.union()) if (cfg.search == "free" and self.masks.tasks) \
                else None
            train_fn = self._round_trainer(task_data, task)

            mask, history = M.iterative_magnitude_pruning(
                work, train_fn, cfg.sparsity, per_round=cfg.per_round, scope=cfg.scope,
                rewind=cfg.rewind, candidates=free, finetune=False)
            self.masks.set(task, mask)
            n_rounds = len(history)
            self.search_log[task] = {
                "seconds": dense_s / len(new_tasks) + time.perf_counter() - t1,
                "dense_epochs": self.ctx.train.epochs, "prune_rounds": n_rounds,
                "round_epochs": cfg.round_epochs * (n_rounds if cfg.first_round == "task"
                                                    else max(0, n_rounds - 1)),
                "sparsity": self.masks.sparsity(task)}
            self.ctx.log(f"subnet: mask for {task} at sparsity {self.masks.sparsity(task):.3f} "
                         f"after {n_rounds} rounds ({self.search_log[task]['seconds']:.1f}s)")

    # -- per experience ---------------------------------------------------------------------
    def plan_experience(self, strategy) -> tuple[dict, list[str]]:
        """MaskedTraining's plan: masks for new tasks, then what each task may update."""
        tasks = [TASK_BY_INDEX[int(i)].id for i in strategy.experience.task_labels]
        new = [t for t in tasks if t not in self.masks]
        if new:
            self.search(strategy, new)
        update = {}
        for t in tasks:
            update[t] = self.masks.owned_exclusively(t) if self.cfg.update == "exclusive" \
                else self.masks.get(t)
        return update, self.frozen_names if (self.trained and self.cfg.freeze_shared) else []

    def after_training_exp(self, strategy, **kw):
        self.trained = True

    # -- resume ------------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        return {"masks": self.masks.state_dict(), "trained": self.trained,
                "search_log": json.dumps(self.search_log)}

    def restore(self, sd: dict) -> None:
        self.masks.load_state_dict(sd["masks"])
        self.trained = bool(sd["trained"])
        self.search_log = json.loads(sd["search_log"])

    # -- evaluation and accounting ------------------------------------------------------------
    def eval_context(self, subset: str):
        return M.view_of(self.ctx.model, self.masks, SUBSETS[subset])

    def params_used(self, subset: str) -> int | None:
        return M.params_used(self.ctx.model, self.masks, SUBSETS[subset])

    def extra_state(self) -> dict:
        tasks = self.masks.tasks
        return {"masks": {"bits": sum(self.masks.storage_bits(t) for t in tasks),
                          "tasks": len(tasks),
                          "sparsity": {t: self.masks.sparsity(t) for t in tasks}},
                "mask_search": dict(self.search_log)}
