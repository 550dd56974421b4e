"""Typed key=value overrides, profiles, streams and the CLI's one-line errors."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from benchmark.cli import main
from benchmark.config import TrainConfig, apply_overrides, profile_config
from benchmark.errors import UserError
from benchmark.streams import StreamSpec, get_stream
from strategies import get_strategy


def test_overrides_are_typed_and_routed():
    train = profile_config("quick")
    cfg = get_strategy("subnet").config()
    apply_overrides([cfg, train], ["sparsity=0.67", "update=exclusive", "epochs=5", "rewind=true"])
    assert cfg.sparsity == 0.67 and cfg.update == "exclusive" and cfg.rewind is True
    assert train.epochs == 5 and isinstance(train.epochs, int)


@pytest.mark.parametrize("override, message", [
    ("nope=1", "unknown override 'nope'; valid keys:"),
    ("epochs=two", "epochs=two is not a valid int"),
    ("update=sometimes", "update=sometimes is not one of: subnet, exclusive"),
    ("epochs", "must look like key=value"),
])
def test_bad_overrides(override, message):
    with pytest.raises(UserError, match=message):
        apply_overrides([get_strategy("subnet").config(), TrainConfig()], [override])


def test_streams_and_order():
    s = get_stream("adaptation")
    assert s.eval_subsets == ["er", "ic", "asr", "asr_new", "ic_new"]
    assert s.trained_at() == [0, 0, 0, 1, 2]
    # a user stream may train a source twice: BWT/forgetting count from its last training
    assert StreamSpec("revisit", [("er",), ("ic",), ("er",)]).trained_at() == [2, 1]
    assert [e[0] for e in get_stream("three_task", ["asr", "er", "ic"]).experiences] == \
        ["asr", "er", "ic"]
    with pytest.raises(UserError, match="permutation"):
        get_stream("three_task", ["asr", "er"])
    with pytest.raises(UserError, match="can't be changed"):
        get_stream("adaptation", ["er", "ic", "asr"])


@pytest.mark.parametrize("argv, message", [
    (["run", "--stream", "nope", "--strategy", "naive"], "unknown stream 'nope'; valid streams:"),
    (["run", "--stream", "seven_task", "--strategy", "nope"], "unknown strategy 'nope'"),
    (["run", "--stream", "seven_task", "--strategy", "naive", "--profile", "huge"],
     "unknown profile 'huge'; valid profiles: quick, default, conformer, paper"),
    (["run", "--stream", "seven_task", "--strategy", "naive", "bad=1"], "unknown override"),
    (["run", "--stream", "seven_task", "--strategy", "naive", "--corpus", "/nonexistent/c"],
     "benchmark data build"),
])
def test_cli_errors_are_one_line(argv, message, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path)] if argv[0] == "run" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_before_or_after_the_subcommand(where, capsys, tmp_path):
    argv = ["run", "--stream", "nope", "--strategy", "naive", "--out", str(tmp_path)]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: unknown stream 'nope'")


def test_cli_list_profiles_shows_every_training_key_per_profile(capsys):
    assert main(["list", "profiles"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[2:6] for line in out.splitlines()[2:]}
    assert set(rows) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert rows["model"][:3] == ["conformer-tiny", "whisper-tiny.en", "conformer-small"]  # paper: a path
    assert rows["epochs"] == ["2", "1", "2", "3"]


def test_cli_list_strategies_subprocess():
    out = subprocess.run([sys.executable, "-m", "benchmark.cli", "list", "strategies"],
                         capture_output=True, text=True, check=True).stdout
    for name in ("naive", "joint", "ewc", "replay", "subnet"):
        assert name in out
    assert "sparsity=0.36" in out
