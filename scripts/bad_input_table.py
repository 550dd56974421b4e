"""Every bad input of the reliability issue, through the real CLI: prints a Markdown table of
the case, the exit code and what the user sees on stderr (the last line; the check column says
whether stderr was that one line and no traceback).

    python scripts/bad_input_table.py [--corpus data/synthslu7-quick-seed0]

Builds a quick corpus in a temporary folder if --corpus is not given. Each case is a fresh
`python -m benchmark.cli` process, as a user would run it; the tests in tests/ assert the same
messages case by case, this script shows them side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

FAST = ["epochs=1", "max_train_per_subset=16", "max_eval_per_subset=16"]


def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "benchmark.cli", *argv]


def run_args(corpus: Path, out: Path, *extra: str, strategy: str = "naive") -> list[str]:
    return cli("run", "--stream", "three_task", "--strategy", strategy, "--profile", "quick",
               "--corpus", str(corpus), "--out", str(out), "--no-progress", *FAST, *extra)


def user_stream(tmp: Path, audio_name: str, write_audio) -> Path:
    """A one-experience stream file over a JSONL source whose train and test rows point at
    `audio_name`, written by `write_audio(path)` (or left missing)."""
    root = tmp / f"src-{audio_name}"
    root.mkdir()
    if write_audio:
        write_audio(root / audio_name)
    row = json.dumps({"audio": audio_name, "task": "er", "label": "happy"}) + "\n"
    for split in ("train", "test"):
        (root / f"{split}.jsonl").write_text(row)
    path = tmp / f"stream-{audio_name}.yaml"
    path.write_text(f"experiences: [[er_mine]]\n"
                    f"sources: {{er_mine: {{task: er, corpus: jsonl, root: {root}}}}}\n")
    return path


def tone(path: Path, rate: int = 16000, channels: int = 1, seconds: float = 1.0) -> None:
    wave = (np.sin(np.arange(int(rate * seconds)) / 7) * 0.3).astype(np.float32)
    sf.write(path, np.stack([wave] * channels, 1) if channels > 1 else wave, rate)


def cut_wav(path: Path) -> None:
    tone(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def ctrl_c(cmd: list[str], ckpt: Path, env) -> subprocess.CompletedProcess:
    """Start `cmd`, send SIGINT once its first checkpoint exists, return what it printed."""
    # SIG_DFL in the child: a script started in the background ignores SIGINT, and so would it.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509 (only resets a signal)
    deadline = time.time() + 600
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default=None, help="a quick SynthSLU-7 corpus (else built)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bad_input_"))
    env = dict(os.environ, SLU_BENCHMARK_CACHE=str(tmp / "cache"))
    corpus = Path(args.corpus) if args.corpus else tmp / "quick"
    if not args.corpus:
        subprocess.run(cli("data", "build", "--size", "quick", "--out", str(corpus)), check=True,
                       capture_output=True)

    def corpus_copy(name: str, edit) -> Path:
        c = tmp / name
        shutil.copytree(corpus, c, ignore=shutil.ignore_patterns("audio"))
        edit(c)
        return c

    def bad_row(c: Path) -> None:
        path = c / "manifests/er/train.jsonl"
        lines = path.read_text().splitlines()
        lines[2] = "{not json"
        path.write_text("\n".join(lines) + "\n")

    def row_without_label(c: Path) -> None:
        path = c / "manifests/er/train.jsonl"
        lines = path.read_text().splitlines()
        row = json.loads(lines[4])
        del row["label"]
        lines[4] = json.dumps(row)
        path.write_text("\n".join(lines) + "\n")

    blocker = tmp / "a-file"
    blocker.write_text("not a folder")
    other_cfg = tmp / "other_cfg"
    (other_cfg / "three_task/naive/seed0").mkdir(parents=True)
    torch.save({"fingerprint": "other"}, other_cfg / "three_task/naive/seed0/checkpoint.pt")
    unsafe = tmp / "unsafe"
    (unsafe / "three_task/naive/seed0").mkdir(parents=True)
    (unsafe / "three_task/naive/seed0/checkpoint.pt").write_bytes(
        _pickle_needing_a_global())
    done = tmp / "done"

    cases: list[tuple[str, object]] = [
        ("unknown stream", cli("run", "--stream", "nope", "--strategy", "naive")),
        ("unknown strategy", cli("run", "--stream", "three_task", "--strategy", "nope")),
        ("unknown profile", cli("run", "--stream", "three_task", "--strategy", "naive",
                                "--profile", "huge")),
        ("unknown task (--order)", cli("run", "--stream", "three_task", "--strategy", "naive",
                                       "--order", "er,ic,nope")),
        ("unknown task (eval)", cli("eval", "--run", str(tmp), "--task", "nope", "--data",
                                    "jsonl:" + str(tmp))),
        ("unknown corpus size", cli("data", "build", "--size", "huge", "--out", str(tmp / "x"))),
        ("unknown override key", run_args(corpus, tmp / "o1", "nope=1")),
        ("override of the wrong type", run_args(corpus, tmp / "o2", "epochs=two")),
        ("corpus missing", run_args(tmp / "no-corpus", tmp / "o3")),
        ("manifest row not JSON", run_args(corpus_copy("c-json", bad_row), tmp / "o4")),
        ("manifest row missing a field",
         run_args(corpus_copy("c-field", row_without_label), tmp / "o5")),
        ("empty split",
         run_args(corpus_copy("c-empty", lambda c: (c / "manifests/ic/test.jsonl").write_text(
             "")), tmp / "o6")),
        ("audio corrupt", cli("run", "--stream", str(user_stream(
            tmp, "corrupt.wav", lambda q: q.write_bytes(b"RIFF not audio"))), "--strategy",
            "naive", "--profile", "quick", "--out", str(tmp / "o7"))),
        ("audio empty (0 bytes)", cli("run", "--stream", str(user_stream(
            tmp, "empty.wav", lambda q: q.write_bytes(b""))), "--strategy", "naive",
            "--profile", "quick", "--out", str(tmp / "o8"))),
        ("audio truncated", cli("run", "--stream", str(user_stream(tmp, "cut.wav", cut_wav)),
                                "--strategy", "naive", "--profile", "quick",
                                "--out", str(tmp / "o9"))),
        ("audio missing", cli("run", "--stream", str(user_stream(tmp, "gone.wav", None)),
                              "--strategy", "naive", "--profile", "quick",
                              "--out", str(tmp / "o10"))),
        ("audio missing, --skip-bad", cli("run", "--stream", str(tmp / "stream-gone.wav.yaml"),
                                          "--strategy", "naive", "--profile", "quick",
                                          "--out", str(tmp / "o11"), "--skip-bad")),
        ("NaN/inf loss", run_args(corpus, tmp / "o12", "lr=1e12", "grad_clip=1e30")),
        ("results folder not writable", run_args(corpus, blocker / "results")),
        ("--resume, checkpoint of another config", run_args(corpus, other_cfg, "--resume")),
        ("--resume, checkpoint needing arbitrary unpickling", run_args(corpus, unsafe,
                                                                       "--resume")),
        ("Ctrl-C during a run", "ctrl-c"),
        ("existing run folder, no --overwrite", "twice"),
    ]
    print("| bad input | exit | one line, no traceback | what the user sees (stderr) |")
    print("|---|---:|---|---|")
    for name, cmd in cases:
        if cmd == "ctrl-c":
            res = ctrl_c(run_args(corpus, tmp / "o13"),
                         tmp / "o13/three_task/naive/seed0/checkpoint.pt", env)
        elif cmd == "twice":
            subprocess.run(run_args(corpus, done), capture_output=True, env=env, check=True)
            res = subprocess.run(run_args(corpus, done), capture_output=True, text=True,
                                 env=env, check=False)
        else:
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        one = len(lines) == 1 and "Traceback" not in res.stderr
        shown = (lines[-1] if lines else "(nothing)").replace(str(tmp), "$TMP").replace("|", "\\|")
        print(f"| {name} | {res.returncode} | {'yes' if one else 'NO'} | `{shown}` |",
              flush=True)

    # not errors: audio at another rate, or with two channels, is converted and logged
    stream = user_stream(tmp, "stereo44k.wav", lambda q: tone(q, rate=44100, channels=2))
    res = subprocess.run(cli("run", "--stream", str(stream), "--strategy", "naive", "--profile",
                             "quick", "--out", str(tmp / "o14"), "--no-progress", "epochs=1"),
                         capture_output=True, text=True, env=env, check=False)
    said = [ln for ln in res.stdout.splitlines() if "resampled" in ln]
    print(f"\n44.1 kHz stereo audio (exit {res.returncode}), the log says:\n"
          f"    {said[0].replace(str(tmp), '$TMP') if said else '(nothing)'}")
    shutil.rmtree(tmp, ignore_errors=True)


def _pickle_needing_a_global() -> bytes:
    """A torch checkpoint whose unpickling would call print(): torch.load(weights_only=True)
    must refuse it."""
    import io

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf)
    return buf.getvalue()


if __name__ == "__main__":
    main()
