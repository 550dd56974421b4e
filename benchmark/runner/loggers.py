"""Experiment loggers for one run: `--logger tensorboard,csv,wandb`.

Each carries the training loss and learning rate per step (x = Avalanche's global iteration
count) and every score-matrix cell R[i][j] as the runner fills it (`R/<task>`, x = experiences
trained; x = 0 is the untrained model), then ACC/BWT/forgetting at the end (`summary/*`).

- tensorboard: Avalanche's `TensorboardLogger` (`log_single_metric`), into `<run>/tensorboard/`.
- csv: `<run>/scalars.csv` (name, step, value), appended. Avalanche's `CSVLogger` is not used:
  it records only accuracy/loss from its own evaluation plugin, which this suite replaces, and it
  truncates its files when it starts, which would erase a resumed run's history.
- wandb: the `wandb` library directly (Avalanche 0.6's `WandBLogger` breaks on current wandb),
  an optional extra (`pip install 'slu-cl-benchmark[wandb]'`). A fresh run gets a new random
  id, kept in `<run>/wandb_id.txt`, so that --resume continues the same W&B run.
  `WANDB_MODE=offline` writes it under `<run>/wandb/` for a later `wandb sync`.

A fresh start (or --overwrite) removes the folder's earlier logs. --resume continues them from
the checkpoint: scalars.csv drops the lines logged after it (by the process that was killed),
TensorBoard purges those steps; W&B can't rewrite history, so there the killed process's last
points stay, followed by the resumed ones.
"""
from __future__ import annotations

import csv
import secrets
import shutil
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
    def __init__(self, run_dir: Path, config: dict, resume: tuple[int, int] | None):
        from avalanche.logging import TensorboardLogger
        from torch.utils.tensorboard import SummaryWriter

        self.logger = TensorboardLogger(tb_log_dir=run_dir / "tensorboard")
        if resume:  # drop the killed process's training steps after the checkpoint
            self.logger.writer.close()
            self.logger.writer = SummaryWriter(run_dir / "tensorboard", purge_step=resume[1])

    def log(self, name: str, value: float, step: int) -> None:
        self.logger.log_single_metric(name, float(value), step)

    def close(self, complete: bool) -> None:
        self.logger.writer.close()


class CSVSink:
    def __init__(self, run_dir: Path, config: dict, resume: tuple[int, int] | None):
        path = run_dir / "scalars.csv"
        if resume and path.exists():  # keep what the checkpoint vouches for
            experiences, iterations = resume
            rows = list(csv.reader(path.read_text().splitlines()))
            keep = [r for r in rows[1:] if int(r[1]) < (
                iterations if r[0].startswith("train/") else experiences + 1)]
            with open(path, "w", newline="") as f:
                csv.writer(f).writerows([rows[0], *keep])
        new = not path.exists()
        self.file = open(path, "a", newline="")  # noqa: SIM115 (open for the whole run)
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(["name", "step", "value"])

    def log(self, name: str, value: float, step: int) -> None:
        self.writer.writerow([name, step, f"{float(value):.6g}"])
        self.file.flush()

    def close(self, complete: bool) -> None:
        self.file.close()


class WandbSink:
    def __init__(self, run_dir: Path, config: dict, resume: tuple[int, int] | None):
        wandb = import_wandb()
        run, id_file = config["run"], run_dir / "wandb_id.txt"
        if resume and id_file.exists():
            run_id, how = id_file.read_text().strip(), "must"
        else:
            run_id, how = secrets.token_hex(8), None  # W&B ids: [a-z0-9]
            id_file.write_text(run_id + "\n")
        self.run = wandb.init(
            project="slu-cl-benchmark", dir=str(run_dir), config=config, id=run_id, resume=how,
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

    def close(self, complete: bool) -> None:
        self.run.finish(exit_code=0 if complete else 1)


def import_wandb():
    try:
        import wandb
    except ImportError as exc:
        raise UserError("--logger wandb needs wandb: pip install "
                        "'slu-cl-benchmark[wandb]'") from exc
    return wandb


SINKS = {"tensorboard": TensorBoardSink, "csv": CSVSink, "wandb": WandbSink}


class RunLoggers:
    """The run's loggers, as one: `start` opens them once the run knows whether it resumes.
    Empty (and free) without --logger."""

    def __init__(self, names: list[str], run_dir: Path, config: dict):
        self.names, self.run_dir, self.config = names, run_dir, config
        self.sinks: list = []

    def start(self, resume: tuple[int, int] | None) -> None:
        """resume: (experiences done, training iterations done) of the checkpoint, or None for
        a fresh start, which removes the folder's earlier logs."""
        if resume is None:
            for old in ("tensorboard", "wandb"):
                shutil.rmtree(self.run_dir / old, ignore_errors=True)
            for old in ("scalars.csv", "wandb_id.txt"):
                (self.run_dir / old).unlink(missing_ok=True)
        for name in self.names:
            self.sinks.append(SINKS[name](self.run_dir, self.config, resume))

    def log(self, name: str, value: float, step: int) -> None:
        for sink in self.sinks:
            sink.log(name, value, step)

    def close(self, complete: bool = False) -> None:
        for sink in self.sinks:
            sink.close(complete)
        self.sinks = []

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
