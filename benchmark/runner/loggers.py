"""Experiment loggers for one run: `--logger tensorboard,csv,wandb`.

Each carries the training loss and learning rate per step (x = Avalanche's global iteration
count) and every score-matrix cell R[i][j] as the runner fills it (`R/<task>`, x = experiences
trained; x = 0 is the untrained model), then ACC/BWT/forgetting at the end (`summary/*`).

- tensorboard: Avalanche's `TensorboardLogger` (`log_single_metric`), into `<run>/tensorboard/`.
- csv: `<run>/scalars.csv` (name, step, value), appended. Avalanche's `CSVLogger` is not used:
  it records only accuracy/loss from its own evaluation plugin, which this suite replaces, and it
  truncates its files when it starts, which would erase a resumed run's history.
- wandb: the `wandb` library directly (Avalanche 0.6's `WandBLogger` breaks on current wandb),
  an optional extra (`pip install 'slu-cl-benchmark[wandb]'`). The run id is derived from the
  run folder, so a resumed run continues the same W&B run. `WANDB_MODE=offline` writes it under
  `<run>/wandb/` for a later `wandb sync`.

On --resume, steps already logged before the checkpoint are logged again from the checkpoint
on (tensorboard and W&B show the later value; scalars.csv keeps both lines).
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from avalanche.core import SupervisedPlugin

from benchmark.errors import UserError

LOGGERS = ("tensorboard", "csv", "wandb")


def parse_loggers(text: str | None) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise UserError(f"--logger: unknown {unknown}; choose from {','.join(LOGGERS)}")
    return names


class TensorBoardSink:
    def __init__(self, run_dir: Path, config: dict):
        from avalanche.logging import TensorboardLogger

        self.logger = TensorboardLogger(tb_log_dir=run_dir / "tensorboard")

    def log(self, name: str, value: float, step: int) -> None:
        self.logger.log_single_metric(name, float(value), step)

    def close(self) -> None:
        self.logger.writer.close()


class CSVSink:
    def __init__(self, run_dir: Path, config: dict):
        path = run_dir / "scalars.csv"
        new = not path.exists()
        self.file = open(path, "a", newline="")  # noqa: SIM115 (open for the whole run)
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(["name", "step", "value"])

    def log(self, name: str, value: float, step: int) -> None:
        self.writer.writerow([name, step, f"{float(value):.6g}"])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class WandbSink:
    def __init__(self, run_dir: Path, config: dict):
        try:
            import wandb
        except ImportError as exc:
            raise UserError("--logger wandb needs wandb: pip install "
                            "'slu-cl-benchmark[wandb]'") from exc
        run = config["run"]
        self.wandb = wandb
        self.run = wandb.init(
            project="slu-cl-benchmark", dir=str(run_dir), config=config, resume="allow",
            id=hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16],
            name=f"{Path(run['stream']).stem}/{run['strategy']}/seed{run['seed']}")
        # two x axes: training steps, and experiences for the score matrix
        self.run.define_metric("train/iteration")
        self.run.define_metric("train/*", step_metric="train/iteration")
        self.run.define_metric("experience")
        for prefix in ("R/*", "summary/*"):
            self.run.define_metric(prefix, step_metric="experience")

    def log(self, name: str, value: float, step: int) -> None:
        axis = "train/iteration" if name.startswith("train/") else "experience"
        self.run.log({name: float(value), axis: step})

    def close(self) -> None:
        self.run.finish()


SINKS = {"tensorboard": TensorBoardSink, "csv": CSVSink, "wandb": WandbSink}


class RunLoggers:
    """The run's loggers, as one. Empty (and free) without --logger."""

    def __init__(self, names: list[str], run_dir: Path, config: dict):
        self.sinks = [SINKS[n](run_dir, config) for n in names]

    def log(self, name: str, value: float, step: int) -> None:
        for sink in self.sinks:
            sink.log(name, value, step)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def plugin(self) -> SupervisedPlugin:
        return _TrainScalars(self)


class _TrainScalars(SupervisedPlugin):
    """train/loss and train/lr (the rate this step used) of every training step."""

    def __init__(self, loggers: RunLoggers):
        super().__init__()
        self.loggers = loggers
        self.step, self.lr = 0, 0.0

    def before_training_iteration(self, strategy, **kw):
        self.step = strategy.clock.train_iterations
        self.lr = strategy.optimizer.param_groups[0]["lr"]

    def after_training_iteration(self, strategy, **kw):
        if self.loggers.sinks:
            self.loggers.log("train/loss", strategy.loss.item(), self.step)
            self.loggers.log("train/lr", self.lr, self.step)
