"""A tiny SLURP tree as a clone of the SLURP repository with both audio archives extracted:
`dataset/slurp/{train,devel,test,train_synthetic}.jsonl` (+ metadata.json) and 16 kHz flac under
`audio/slurp_real/` (train, devel, test) and `audio/slurp_synth/` (train_synthetic).

As in the real corpus, a sentence has several recordings: a recording session writes a headset
and a far-field file (`audio-<t>-headset.flac`, `audio-<t>.flac`). Sentence 1009 has SLURP's
mistyped `intent` ("hue_lightup" for scenario iot), and iot_hue_lightup and general_quirky are
outside the suite's INTENTS. Annotations mix mapped entity types (date, time, timeofday,
place_name, house_place, person, relation, device_type) with dropped ones (music_genre,
artist_name, event_name, business_name, food_type), and some values carry digits.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

# split -> (slurp_id, annotated sentence, scenario, action, recording sessions, or "synth")
SENTENCES = {
    "train": (
        (1001, "wake me up at [time : five am] [date : this week]", "alarm", "set", (1,)),
        (1002, "set an alarm for [time : 7 am] [date : tomorrow]", "alarm", "set", (2,)),
        (1003, "what's the weather like in [place_name : london] [date : today]", "weather",
         "query", (3,)),
        (1004, "turn on the lights in the [house_place : kitchen]", "iot", "hue_lighton", (4,)),
        (1005, "switch off the [house_place : bedroom] [device_type : lamp]", "iot",
         "hue_lightoff", (5,)),
        (1006, "play some [music_genre : jazz] by [artist_name : miles davis]", "play", "music",
         (6,)),
        (1007, "email my [relation : mom] about the [event_name : party]", "email", "sendemail",
         (7,)),
        (1008, "tell me a joke", "general", "joke", (8,)),
        (1009, "increase the brightness of the lights", "iot", "hue_lightup", (1,)),
        (1010, "remind me to call [person : john] at [time : 3:30 pm]", "calendar", "set",
         (2, 3)),
    ),
    "test": (
        (2001, "cancel my alarm for [time : six am]", "alarm", "remove", (11,)),
        (2002, "will it rain [date : tomorrow] in [place_name : paris]", "weather", "query",
         (12,)),
        (2003, "lights off please", "iot", "hue_lightoff", (13,)),
        (2004, "play [artist_name : the beatles] in the [timeofday : evening]", "play", "music",
         (14,)),
        (2005, "what is on my calendar on [date : the 2nd of may]", "calendar", "query",
         (11,)),
        (2006, "anything on your mind", "general", "quirky", (13,)),
    ),
    "devel": (
        (3001, "turn the volume up", "audio", "volume_up", (15,)),
        (3002, "order a [food_type : pizza] from [business_name : dominos]", "takeaway", "order",
         (16,)),
    ),
    "train_synthetic": (
        (4001, "wake me up at [time : eight am]", "alarm", "set", "synth"),
        (4002, "what's the time in [place_name : tokyo]", "datetime", "query", "synth"),
    ),
}
_VOICES = ("en-us", "en", "en-us+f3", "en+m3", "en-us+f2", "en-us+m2", "en+f4", "en-us+m4")


def write(root: Path, say) -> Path:
    """Write the tree under `root` and return `root` (the slurp clone a user passes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # `say` resamples: tiny clips are ~20x faster on one thread
    try:
        for split, rows in SENTENCES.items():
            lines = [_row(*row, root, say) for row in rows]
            path = root / "dataset" / "slurp" / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    finally:
        torch.set_num_threads(threads)
    (root / "dataset" / "slurp" / "metadata.json").write_text("{}\n")
    (root / "README.md").write_text("# SLURP: A Spoken Language Understanding Resource Package\n")
    return root


def _row(slurp_id, annotation, scenario, action, sessions, root: Path, say) -> dict:
    entities, words = [], []
    for part in annotation.replace("[", "\n[").replace("]", "]\n").split("\n"):
        if part.startswith("["):
            kind, value = (s.strip() for s in part[1:-1].split(" : "))
            span = value.split()
            entities.append({"type": kind, "span": list(range(len(words), len(words) + len(span)))})
            words += span
        else:
            words += part.split()
    sentence = " ".join(words)
    if sessions == "synth":
        files = [f"audio-{1504190000 + slurp_id}.flac"]
        say(sentence, root / "audio" / "slurp_synth" / files[0], voice="en-us+f2")
    else:
        files = []
        for s in sessions:
            stamp = 1490000000 + 100000 * s + slurp_id  # one recording session: two microphones
            for name, voice in ((f"audio-{stamp}-headset.flac", _VOICES[s % 8]),
                                (f"audio-{stamp}.flac", _VOICES[(s + 3) % 8])):
                files.append(name)
                say(sentence, root / "audio" / "slurp_real" / name, voice=voice)
    intent = action if slurp_id == 1009 else f"{scenario}_{action}"  # SLURP's typo, kept
    return {"slurp_id": slurp_id, "sentence": sentence, "sentence_annotation": annotation,
            "intent": intent, "action": action, "scenario": scenario,
            "recordings": [{"file": f, "wer": 0.0, "ent_wer": 0.0, "status": "correct"}
                           for f in files],
            "entities": entities}
