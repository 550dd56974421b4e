"""The seven SynthSLU-7 tasks: ids, label vocabularies and how labels become decoder text.

This module is the single source of truth shared by the corpus builder, the tokenizer, the model
and the evaluator. Task ids are used everywhere (manifests, streams, CLI, results).

A *subset* is a named body of data for one task. Seven subsets are the tasks themselves; two more
(`asr_new`, `ic_new`) carry the same task under a domain shift for the paper's adaptation study.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    id: str
    name: str
    kind: str  # "classification" | "transcription" | "entities"
    index: int  # Avalanche task label
    label_prefix: str = ""  # classification labels are emitted as one token f"{prefix}:{label}"
    labels: tuple[str, ...] = ()

    def label_token(self, label: str) -> str:
        return f"{self.label_prefix}:{label}"


EMOTIONS = ("neutral", "happy", "sad", "angry")  # synthetic prosody *styles*, not felt emotion

INTENTS = (
    "alarm_set", "alarm_query", "alarm_remove", "weather_query", "play_music", "play_radio",
    "play_podcasts", "iot_hue_lightson", "iot_hue_lightoff", "iot_hue_lightdim", "iot_cleaning",
    "audio_volume_up", "audio_volume_down", "audio_volume_mute", "calendar_set", "calendar_query",
    "email_sendemail", "email_query", "datetime_query", "news_query", "takeaway_order",
    "transport_ticket", "transport_query", "lists_createoradd", "cooking_recipe", "general_joke",
)

COMMANDS = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)

ENTITY_TYPES = ("date", "time", "place", "person", "device", "number")

# label -> espeak-ng voice name. Checked to exist in espeak-ng 1.52 (espeakng-loader 0.2.4).
LANGUAGE_VOICES = {
    "en": "en-us", "de": "de", "fr": "fr", "es": "es", "it": "it", "nl": "nl", "pl": "pl",
}
ACCENT_VOICES = {
    "american": "en-us", "british": "en", "scottish": "en-gb-scotland", "received": "en-gb-x-rp",
    "lancastrian": "en-gb-x-gbclan", "west_midlands": "en-gb-x-gbcwmd", "caribbean": "en-029",
    "new_york": "en-us-nyc",
}

TASKS: dict[str, TaskSpec] = {
    t.id: t
    for t in (
        TaskSpec("er", "emotion recognition (prosody styles)", "classification", 0, "em", EMOTIONS),
        TaskSpec("ic", "intent classification", "classification", 1, "in", INTENTS),
        TaskSpec("asr", "speech recognition", "transcription", 2),
        TaskSpec("scr", "speech command recognition", "classification", 3, "cmd", COMMANDS),
        TaskSpec("ner", "named entities / slot filling", "entities", 4),
        TaskSpec("lid", "language identification", "classification", 5, "lang",
                 tuple(LANGUAGE_VOICES)),
        TaskSpec("acc", "English accent classification", "classification", 6, "acc",
                 tuple(ACCENT_VOICES)),
    )
}

# subset id -> task id
SUBSETS: dict[str, str] = {t: t for t in TASKS} | {"asr_new": "asr", "ic_new": "ic"}

BUILTIN_SUBSETS: dict[str, str] = dict(SUBSETS)  # SynthSLU-7's own; SUBSETS grows with user streams

TASK_BY_INDEX = {t.index: t for t in TASKS.values()}


def register_subset(name: str, task: str) -> None:
    """Make a user stream's source (e.g. `er_iemocap`) a subset of `task` for this process.

    SUBSETS is module state on purpose: masks, evaluation and reports look a subset's task up
    there, and a user stream only adds names (it never changes a built-in one).
    """
    from benchmark.errors import UserError

    if SUBSETS.get(name, task) != task:
        raise UserError(f"subset '{name}' already belongs to task '{SUBSETS[name]}'; rename it")
    SUBSETS[name] = task


def get_task(task_id: str) -> TaskSpec:
    from benchmark.errors import UserError

    if task_id not in TASKS:
        raise UserError(f"unknown task '{task_id}'; valid tasks: {', '.join(TASKS)}")
    return TASKS[task_id]
