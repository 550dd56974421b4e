"""User-defined stream files (YAML/TOML) mixing real corpora, run end to end on native-layout
fixtures; then `benchmark eval` of the finished run on another corpus."""
from __future__ import annotations

import json

import pytest
from layouts import iemocap, librispeech, slurp, speech_commands

from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.runner import RunRequest, run
from benchmark.stream_file import read_stream_file

STREAM = """\
name: real_three
max_duration: 20
experiences:
  - [er_iemocap]
  - [ic_slurp]
  - [asr_libri]
sources:
  er_iemocap: {task: er, corpus: iemocap, root: iemocap}
  ic_slurp: {task: ic, corpus: slurp, root: slurp}
  asr_libri: {task: asr, corpus: librispeech, root: libri/LibriSpeech}
"""

STREAM_TOML = """\
name = "real_three"
max_duration = 20
experiences = [["er_iemocap"], ["ic_slurp"], ["asr_libri"]]

[sources.er_iemocap]
task = "er"
corpus = "iemocap"
root = "iemocap"

[sources.ic_slurp]
task = "ic"
corpus = "slurp"
root = "slurp"

[sources.asr_libri]
task = "asr"
corpus = "librispeech"
root = "libri/LibriSpeech"
"""


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, say):
    base = tmp_path_factory.mktemp("native")
    iemocap.write(base / "iemocap", say)
    slurp.write(base / "slurp", say)
    librispeech.write(base / "libri", say)
    speech_commands.write(base / "speech_commands", say)
    (base / "real_three.yaml").write_text(STREAM)
    (base / "real_three.toml").write_text(STREAM_TOML)
    return base


def test_yaml_and_toml_give_the_same_stream(corpora):
    name, exps, sources = read_stream_file(corpora / "real_three.yaml")
    assert name == "real_three"
    assert exps == [("er_iemocap",), ("ic_slurp",), ("asr_libri",)]
    assert sources["ic_slurp"].root == str((corpora / "slurp").resolve())
    assert sources["er_iemocap"].train_split == "train_fold5"  # the loader's default
    assert sources["asr_libri"].max_duration == 20.0
    assert read_stream_file(corpora / "real_three.toml") == (name, exps, sources)


BAD = [
    ("colour: red\n", "unknown key 'colour'"),
    ("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap, root: iemocap, foo: 1}}\n",
     "unknown key 'foo'; valid keys: task"),
    ("experiences: [[b]]\nsources: {a: {task: er, corpus: iemocap, root: iemocap}}\n",
     "experience 0 names unknown source 'b'"),
    ("experiences: [[a]]\nsources: {a: {task: xx, corpus: iemocap, root: iemocap}}\n",
     "'task' must be one of er, ic"),
    ("experiences: [[a]]\nsources: {a: {task: asr, corpus: iemocap, root: iemocap}}\n",
     "corpus 'iemocap' has no task 'asr'; it provides er"),
    ("experiences: [[a]]\nsources: {a: {task: er, corpus: nope, root: x}}\n",
     "unknown corpus 'nope'"),
    ("experiences: [[er]]\nsources: {er: {task: er, corpus: iemocap, root: iemocap}}\n",
     "'er' is a built-in subset name"),
    ("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap}}\n",
     "'root' .* is required"),
    ("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap, root: i, test_split: s9}}\n",
     "test_split 's9' is not a split of iemocap"),
    ("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap, root: i, max_train: -1}}\n",
     "max_train must be a non-negative integer"),
    ("experiences: [[a]]\nsources: {a: {task: asr, corpus: synthslu7, subset: ic}}\n",
     "synthslu7 has no subset 'ic' for task 'asr'"),
    ("experiences: [a\n", "invalid YAML"),
    (("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap, root: i},\n"
     "  b: {task: er, corpus: iemocap, root: i}}\n"), "source 'b' is in no experience"),
    ("experiences: [[a]]\nsources: {a: {task: asr, corpus: synthslu7, root: /x}}\n",
     "'root' does not apply to synthslu7"),
    (("experiences: [[a]]\nsources: {a: {task: er, corpus: iemocap, root: i, "
     "train_split: session5}}\n"), "train_split and test_split are both 'session5'"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_stream_file_errors_are_one_line(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        read_stream_file(path)


def test_bad_toml_and_missing_file(tmp_path, capsys):
    (tmp_path / "s.toml").write_text("experiences = [\n")
    with pytest.raises(UserError, match="invalid TOML"):
        read_stream_file(tmp_path / "s.toml")
    rc = main(["run", "--stream", str(tmp_path / "none.yaml"), "--strategy", "naive"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "not found" in err


def test_user_stream_run_then_eval(corpora, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLU_BENCHMARK_CACHE", str(tmp_path / "cache"))
    run_dir = run(RunRequest(stream=str(corpora / "real_three.yaml"), strategy="subnet",
                             profile="quick", out=str(tmp_path / "runs"), progress=False,
                             overrides=["epochs=1"]),
                  log=lambda m: None)
    assert run_dir == tmp_path / "runs" / "real_three" / "subnet" / "seed0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["complete"] and metrics["eval_subsets"] == ["er_iemocap", "ic_slurp",
                                                                "asr_libri"]
    R = metrics["score"]["R"]
    assert len(R) == 3 and all(len(row) == 3 for row in R)
    assert metrics["score"]["summary"] is not None
    sources = json.loads((run_dir / "sources.json").read_text())
    assert sources["ic_slurp/train"]["outside_vocabulary"]  # the fixture has a non-suite intent
    config = json.loads((run_dir / "config.json").read_text())
    assert config["stream_sources"]["er_iemocap"]["corpus"] == "iemocap"

    # the finished model on an external corpus: Speech Commands, which has a word (`bed`) the
    # model's scr vocabulary does not know; it is reported, not a crash
    rc = main(["eval", "--run", str(run_dir), "--task", "scr", "--data",
               f"speech_commands:{corpora / 'speech_commands'}"])
    out = capsys.readouterr().out
    assert rc == 0 and "outside the model's 'scr' vocabulary: bed (1)" in out
    assert "note: this run never trained 'scr'" in out  # the stream has no scr experience
    saved = json.loads((run_dir / "eval" / "speech_commands-scr-test.json").read_text())
    assert (saved["utterances"], saved["scored"]) == (4, 3)
    assert 0.0 <= saved["accuracy_all_utterances"] <= saved["metrics"]["accuracy"] <= 1.0
    preds = (run_dir / "eval" / "speech_commands-scr-test.predictions.jsonl").read_text()
    assert len(preds.splitlines()) == 3
    rows = [json.loads(line) for line in preds.splitlines()]  # raw: what "<invalid>" said
    assert all((r["pred"] == "<invalid>") == (not r["raw"].startswith("cmd:")) for r in rows)
    assert all(r["pred"] == "<invalid>" or r["raw"].startswith(f"cmd:{r['pred']}") for r in rows)
    assert saved["decoding"] == "greedy"
    # the same with beam search (one utterance at a time), into another folder
    from benchmark.models.slu import SLUModel

    calls = []
    real_beam_search = SLUModel.beam_search

    def counted(self, enc, prompt, beam=4, *args, **kw):
        calls.append(beam)
        return real_beam_search(self, enc, prompt, beam, *args, **kw)

    monkeypatch.setattr(SLUModel, "beam_search", counted)
    rc = main(["eval", "--run", str(run_dir), "--task", "scr", "--data",
               f"speech_commands:{corpora / 'speech_commands'}", "--beam", "3",
               "--out", str(tmp_path / "beam")])
    beam = json.loads((tmp_path / "beam" / "speech_commands-scr-test.json").read_text())
    assert rc == 0 and beam["decoding"] == "beam 3" and beam["scored"] == 3
    assert calls == [3, 3, 3]  # one beam search of width 3 per scored utterance
    assert 0.0 <= beam["metrics"]["accuracy"] <= 1.0

    # and on the IEMOCAP test session for ER, through the er subnetwork
    capsys.readouterr()  # drop the beam run's output
    rc = main(["eval", "--run", str(run_dir), "--task", "er", "--data",
               f"iemocap:{corpora / 'iemocap'}"])
    assert rc == 0 and "never trained" not in capsys.readouterr().out
    er = json.loads((run_dir / "eval" / "iemocap-er-session5.json").read_text())
    assert er["outside_vocabulary"] == {} and er["scored"] == er["utterances"] > 0


def test_user_stream_on_whisper_then_eval(corpora, tiny_whisper_dir, tmp_path, monkeypatch,
                                          capsys):
    """The same on a (tiny random) Whisper: real corpora get dataset tokens in their prompts and
    Whisper log-mel features, cached next to their prepared fbank, for the run and for eval."""
    monkeypatch.setenv("SLU_BENCHMARK_CACHE", str(tmp_path / "cache"))
    run_dir = run(RunRequest(stream=str(corpora / "real_three.yaml"), strategy="naive",
                             profile="quick", out=str(tmp_path / "runs"), progress=False,
                             overrides=["epochs=1", f"model=whisper:{tiny_whisper_dir}",
                                        "ctc_weight=0"]),
                  log=lambda m: None)
    assert json.loads((run_dir / "metrics.json").read_text())["complete"]
    cached = sorted(p.parent.name for p in (tmp_path / "cache").rglob("features-whisper-mel80/*/*.pt"))
    assert {"er", "ic", "asr"} <= set(cached)
    rc = main(["eval", "--run", str(run_dir), "--task", "er", "--data",
               f"iemocap:{corpora / 'iemocap'}"])
    assert rc == 0
    er = json.loads((run_dir / "eval" / "iemocap-er-session5.json").read_text())
    assert er["scored"] > 0 and 0.0 <= er["metrics"]["accuracy"] <= 1.0


def test_eval_errors(tmp_path, capsys):
    rc = main(["eval", "--run", str(tmp_path), "--task", "scr", "--data", "speech_commands:/x",
               "--beam", "0"])
    assert rc == 2 and "--beam must be at least 1" in capsys.readouterr().err
    rc = main(["eval", "--run", str(tmp_path), "--task", "scr", "--data", "speech_commands:/x"])
    assert rc == 2 and "has no config.json and model.pt" in capsys.readouterr().err
    rc = main(["eval", "--run", str(tmp_path), "--task", "scr", "--data", "/x"])
    assert rc == 2 and "--data must look like CORPUS:/path" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["real_three.yaml", "real_and_synthetic.toml"])
def test_shipped_example_streams_parse(name):
    from pathlib import Path

    path = Path(__file__).parents[2] / "examples" / "streams" / name
    _, exps, sources = read_stream_file(path)
    assert exps and {s for e in exps for s in e} == set(sources)


def test_run_stops_on_a_bad_audio_file_and_names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLU_BENCHMARK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    row = '{"audio": "broken.wav", "task": "er", "label": "happy"}\n'
    for split in ("train", "test"):
        (tmp_path / "data" / f"{split}.jsonl").write_text(row)
    (tmp_path / "s.yaml").write_text("experiences: [[er_mine]]\n"
                                     "sources: {er_mine: {task: er, corpus: jsonl, root: data}}\n")
    rc = main(["run", "--stream", str(tmp_path / "s.yaml"), "--strategy", "naive",
               "--profile", "quick", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "broken.wav" in err and "--skip-bad" in err
    # --skip-bad skips it; with nothing left the run stops with one line, not a traceback
    rc = main(["run", "--stream", str(tmp_path / "s.yaml"), "--strategy", "naive",
               "--profile", "quick", "--out", str(tmp_path / "runs"), "--skip-bad"])
    err = capsys.readouterr().err
    assert rc == 2 and "every file of er/train was skipped" in err
