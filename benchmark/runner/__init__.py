"""Running things: one run (`loop.run`), sweeps of runs (`sweep`), compression studies
(`compression`). Reporting over finished runs lives in `benchmark.reporting`.

A run's folder (`results/<stream>/<strategy>/seed<N>/` by default):
  config.json       the resolved run, training and strategy configuration
  environment.json  package versions, device, code revision (benchmark.provenance)
  metrics.json      all matrices R[i][j], continual-learning summaries, parameters, wall times
  evals.jsonl       one line per (experience, task) evaluation, with every metric
  model.pt          final state_dict (+ strategy state such as masks), torch.save of tensors only
  masks.json        masked strategies: per-task mask accounting
  checkpoint.pt     while unfinished: what --resume continues from (runner/checkpoint.py)
  run.log           the log
  sources.json      user streams only: what was read from each real corpus (kept, skipped, labels
                    outside the task vocabulary)
"""
from benchmark.runner.layout import RunRequest, run_dir_for
from benchmark.runner.loop import run

__all__ = ["RunRequest", "run", "run_dir_for"]
