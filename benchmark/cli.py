"""Command line: `benchmark data build | run | eval | compress | report | sweep | list`.

Errors the user can fix print one line (`error: ...`) and exit 2; a traceback appears only
with --debug.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from benchmark.errors import UserError


def _cmd_data_build(args) -> None:
    from benchmark.data.build import build_corpus

    root = build_corpus(args.size, out=args.out, seed=args.seed, jobs=args.jobs)
    print(f"corpus ready: {root}")


def _cmd_run(args) -> None:
    from benchmark.runner import RunRequest, run
    from benchmark.runner.loggers import parse_loggers

    order = args.order.split(",") if args.order else None
    run(RunRequest(stream=args.stream, strategy=args.strategy, seed=args.seed,
                   profile=args.profile, device=args.device, out=args.out, corpus=args.corpus,
                   order=order, overrides=args.overrides, overwrite=args.overwrite,
                   resume=args.resume, progress=not args.no_progress,
                   skip_bad=args.skip_bad, allow_dirty=args.allow_dirty,
                   loggers=parse_loggers(args.logger)))


def _cmd_list(args) -> None:
    from benchmark.config import describe

    if args.what == "streams":
        from benchmark.streams import STREAM_DESCRIPTIONS, STREAMS

        for name, exps in STREAMS.items():
            print(f"{name:18s} {STREAM_DESCRIPTIONS[name]}")
            print(f"{'':18s} experiences: {' -> '.join('+'.join(e) for e in exps)}")
    elif args.what == "corpora":
        from benchmark.corpora import LOADERS

        for info in sorted(LOADERS.values(), key=lambda i: i.name):
            splits = ", ".join(info.splits) or "any (<split>.jsonl)"
            print(f"{info.name:16s} {info.description}")
            print(f"{'':16s} tasks: {', '.join(info.tasks)}; splits: {splits}; "
                  f"defaults {info.train_split}/{info.test_split}")
    elif args.what == "profiles":
        from benchmark.config import PROFILES, TrainConfig, profile_config

        names = list(PROFILES)
        w = 2 + max(len(str(v)) for n in names for v in vars(profile_config(n)).values())
        print("training keys (override any as key=value); values per profile:")
        print(f"  {'key':28s}" + "".join(f"{n:>{w}s}" for n in names) + "  meaning")
        for fname, tname, _, help_ in describe(TrainConfig):
            values = "".join(f"{getattr(profile_config(n), fname)!s:>{w}s}" for n in names)
            print(f"  {fname + ' (' + tname + ')':28s}{values}  {help_}")
    elif args.what == "tasks":
        from benchmark.tasks import BUILTIN_SUBSETS, TASKS

        for t in TASKS.values():
            extra = f"{len(t.labels)} labels" if t.labels else t.kind
            subsets = [s for s, task in BUILTIN_SUBSETS.items() if task == t.id]
            print(f"{t.id:5s} {t.name:38s} {extra:12s} subsets: {', '.join(subsets)}")
    else:
        from strategies import get_strategy, list_strategies

        for name in list_strategies():
            info = get_strategy(name)
            task_id = "  [needs the task id at inference]" if info.needs_task_id_at_inference else ""
            print(f"{name:10s} {info.description}{task_id}")
            for fname, tname, default, help_ in describe(info.config):
                print(f"{'':12s}{fname}={default!r} ({tname}) {help_}")


def _cmd_eval(args) -> None:
    from benchmark.evaluation.external import EvalRequest, evaluate_external

    evaluate_external(EvalRequest(run_dir=args.run, task=args.task, data=args.data,
                                  split=args.split, max_duration=args.max_duration,
                                  skip_bad=args.skip_bad, device=args.device, out=args.out,
                                  beam=args.beam))


def _cmd_compress(args) -> None:
    from benchmark.runner.compression import CompressionRequest, run_compression

    out = run_compression(CompressionRequest(
        stream=args.stream, target=args.target, per_round=args.per_round,
        round_epochs=args.round_epochs, seed=args.seed, profile=args.profile, device=args.device,
        out=args.out, corpus=args.corpus, overrides=args.overrides,
        progress=not args.no_progress, control=not args.no_control, overwrite=args.overwrite,
        allow_dirty=args.allow_dirty, resume=args.resume))
    print(f"compression study written to {out / 'compression.json'}")


def _cmd_report(args) -> None:
    from benchmark.reporting.report import build_report, parse_formats

    out = args.out or str(Path(args.run_dirs[0]) / "report")
    build_report(args.run_dirs, out, parse_formats(args.format), allow_mixed=args.allow_mixed)


def _cluster_options(args):
    """ClusterOptions from --cluster-config (YAML or JSON, the same keys as the flags) and the
    flags, which win."""
    import dataclasses

    import yaml

    from benchmark.runner.executors import ClusterOptions

    values = {}
    if args.cluster_config:
        try:
            values = yaml.safe_load(Path(args.cluster_config).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UserError(f"--cluster-config {args.cluster_config}: {exc}") from exc
        known = {f.name: f.type for f in dataclasses.fields(ClusterOptions)}
        if not isinstance(values, dict):
            raise UserError(f"--cluster-config {args.cluster_config}: expected key: value lines")
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UserError(f"--cluster-config: unknown keys {unknown}; known: {sorted(known)}")
        if isinstance(values.get("setup"), str):
            values["setup"] = [values["setup"]]
        for key, value in values.items():
            want = {"int": int, "float | None": (int, float), "tuple[str, ...]": list}.get(
                known[key], str)
            if not isinstance(value, want) or isinstance(value, bool):
                raise UserError(f"--cluster-config: {key} must be {known[key]}, got {value!r}")
    for key in ("partition", "time_min", "gpus", "cpus", "mem_gb", "account", "qos",
                "constraint"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.setup:
        values["setup"] = args.setup
    values["setup"] = tuple(values.get("setup", ()))
    return ClusterOptions(**values)


def _cmd_sweep(args) -> None:
    from benchmark.runner.loggers import parse_loggers
    from benchmark.runner.sweep import SweepRequest, sweep

    if args.status:
        from benchmark.runner.status import cell_states, format_states

        print(format_states(cell_states(args.status)))
        return
    if not args.stream:
        raise UserError("give --stream (or --status DIR to see a sweep's cells)")

    def ints(text: str) -> list[int]:
        try:
            return [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise UserError(f"--seeds must be comma-separated integers, got {text!r}") from None

    outcomes, report_dir = sweep(SweepRequest(
        stream=args.stream, strategies=[s for s in args.strategies.split(",") if s.strip()],
        seeds=ints(args.seeds), jobs=args.jobs, profile=args.profile, out=args.out,
        corpus=args.corpus, device=args.device, overrides=args.overrides,
        allow_dirty=args.allow_dirty, allow_mixed=args.allow_mixed, executor=args.executor,
        cluster=_cluster_options(args), loggers=parse_loggers(args.logger),
        wait=args.executor != "slurm" if args.wait is None else args.wait))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise UserError(f"{len(failed)} of {len(outcomes)} runs failed "
                        f"({', '.join(f'{o.strategy} seed{o.seed}' for o in failed)}); "
                        f"see the sweep log next to the runs")
    if any(o.status == "submitted" for o in outcomes):
        return
    print(f"report: {report_dir}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="benchmark", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    # --debug is also accepted after the subcommand (`benchmark run ... --debug`); SUPPRESS
    # keeps a subcommand's unset flag from overwriting a --debug given before it
    debug_too = argparse.ArgumentParser(add_help=False)
    debug_too.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", parents=[debug_too], help="build the SynthSLU-7 corpus")
    dsub = data.add_subparsers(dest="data_command", required=True)
    b = dsub.add_parser("build", parents=[debug_too], help="synthesize SynthSLU-7 (offline, espeak-ng)")
    b.add_argument("--size", default="default", help="quick | default | large")
    b.add_argument("--out", default=None, help="output folder (default data/synthslu7-SIZE-seedN)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    b.set_defaults(func=_cmd_data_build)

    r = sub.add_parser("run", parents=[debug_too], help="run a strategy on a stream")
    r.add_argument("--stream", required=True, help="a built-in stream or a .yaml/.toml file")
    r.add_argument("--strategy", required=True)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--profile", default="default", help="quick | default | paper")
    r.add_argument("--device", default="cpu", help="cpu | cuda")
    r.add_argument("--out", default=None, help="results root (default results/)")
    r.add_argument("--corpus", default=None, help="corpus folder (default: the profile's)")
    r.add_argument("--order", default=None, help="task order override, e.g. asr,er,ic")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    r.add_argument("--resume", action="store_true", help="continue after the last experience")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--skip-bad", action="store_true",
                   help="stream files: skip unreadable audio files instead of stopping")
    r.add_argument("--allow-dirty", action="store_true",
                   help="write into the reference results/ from a tree with uncommitted changes")
    r.add_argument("--logger", default=None,
                   help="experiment loggers, comma-separated: tensorboard,csv,wandb")
    r.add_argument("overrides", nargs="*", help="key=value training/strategy overrides")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", parents=[debug_too], help="tables and figures over finished runs")
    rep.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                     help="run folders or any parent (searched for metrics.json)")
    rep.add_argument("--out", default=None, help="output folder (default FIRST_RUN_DIR/report)")
    rep.add_argument("--format", default="md,csv,tex", help="table formats: md,csv,tex")
    rep.add_argument("--allow-mixed", action="store_true",
                     help="aggregate runs of different code, config or thread count (noted)")
    rep.set_defaults(func=_cmd_report)

    sw = sub.add_parser("sweep", parents=[debug_too], help="run strategies x seeds on a stream, then report")
    sw.add_argument("--stream", default=None)
    sw.add_argument("--strategies", default="naive,ewc,replay,subnet,joint")
    sw.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    sw.add_argument("--jobs", type=int, default=1, help="runs at a time (1 CPU thread each)")
    sw.add_argument("--profile", default="default", help="quick | default | paper")
    sw.add_argument("--device", default="cpu", help="cpu | cuda")
    sw.add_argument("--out", default=None, help="results root (default results/)")
    sw.add_argument("--corpus", default=None, help="corpus folder (default: the profile's)")
    sw.add_argument("--allow-dirty", action="store_true",
                    help="write into the reference results/ from a tree with uncommitted changes")
    sw.add_argument("--allow-mixed", action="store_true",
                    help="report runs of different code, config or thread count together")
    sw.add_argument("--status", metavar="DIR", default=None,
                    help="show each cell of the sweeps in DIR (queued, running, done, failed)")
    sw.add_argument("--executor", default="local",
                    help="local | slurm (one job array through submitit) | submitit-local | "
                         "submitit-debug (submitit's own executors, no cluster; "
                         "submitit-local starts every cell at once)")
    sw.add_argument("--wait", action=argparse.BooleanOptionalAction, default=None,
                    help="wait for the cells to end, then report (default: yes, except slurm)")
    cl = sw.add_argument_group("cluster (--executor slurm; flags win over --cluster-config)")
    cl.add_argument("--cluster-config", default=None, help="YAML/JSON file with the keys below")
    cl.add_argument("--partition", default=None)
    cl.add_argument("--time-min", dest="time_min", type=int, default=None,
                    help="minutes per job (default 1440); a run past it is requeued and resumes")
    cl.add_argument("--gpus", type=int, default=None, help="GPUs per cell (default 0)")
    cl.add_argument("--cpus", type=int, default=None, help="CPUs per cell (default 1)")
    cl.add_argument("--mem-gb", dest="mem_gb", type=float, default=None)
    cl.add_argument("--account", default=None)
    cl.add_argument("--qos", default=None)
    cl.add_argument("--constraint", default=None)
    cl.add_argument("--setup", action="append", default=None,
                    help="shell line run before each job (repeatable): module load, venv ...")
    sw.add_argument("--logger", default=None,
                    help="experiment loggers of every run: tensorboard,csv,wandb")
    sw.add_argument("overrides", nargs="*", help="key=value overrides for every run")
    sw.set_defaults(func=_cmd_sweep)

    ev = sub.add_parser("eval", parents=[debug_too], help="score a finished run's model on an external corpus")
    ev.add_argument("--run", required=True, help="finished run folder (has model.pt)")
    ev.add_argument("--task", required=True, help="task id, e.g. scr")
    ev.add_argument("--data", required=True, help="CORPUS:/path, e.g. speech_commands:/data/sc")
    ev.add_argument("--split", default=None, help="default: the corpus's test split")
    ev.add_argument("--max-duration", type=float, default=30.0, help="skip longer files (s)")
    ev.add_argument("--skip-bad", action="store_true", help="skip unreadable audio files")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--beam", type=int, default=1,
                    help="beam size; 1 = batched greedy search, as runs evaluate (default)")
    ev.add_argument("--out", default=None, help="results folder (default RUN_DIR/eval)")
    ev.set_defaults(func=_cmd_eval)

    c = sub.add_parser("compress", parents=[debug_too], help="subnetworks vs the unpruned multi-task model (IMP sweep)")
    c.add_argument("--stream", default="adaptation", help="its experience 0 is the joint base")
    c.add_argument("--target", type=float, default=0.67, help="final sparsity of the sweep")
    c.add_argument("--per-round", type=float, default=0.2, help="fraction pruned per round")
    c.add_argument("--round-epochs", type=int, default=1, help="masked epochs after each prune")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--profile", default="default", help="quick | default | paper")
    c.add_argument("--device", default="cpu")
    c.add_argument("--out", default=None, help="default results/compression/STREAM/seedN")
    c.add_argument("--corpus", default=None)
    c.add_argument("--no-progress", action="store_true")
    c.add_argument("--overwrite", action="store_true", help="replace an existing study in --out")
    c.add_argument("--resume", action="store_true",
                   help="continue an unfinished study in --out (after its base or last task)")
    c.add_argument("--allow-dirty", action="store_true",
                   help="write into the reference results/ from a tree with uncommitted changes")
    c.add_argument("--no-control", action="store_true",
                   help="skip the dense control (unpruned model, same extra epochs)")
    c.add_argument("overrides", nargs="*", help="key=value training overrides")
    c.set_defaults(func=_cmd_compress)

    ls = sub.add_parser("list", parents=[debug_too],
                        help="list streams, strategies, tasks, corpora or profiles")
    ls.add_argument("what", choices=["streams", "strategies", "tasks", "corpora", "profiles"])
    ls.set_defaults(func=_cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}" if str(exc) else
              "error: interrupted; run the same command again to continue", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
