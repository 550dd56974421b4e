"""Grammars: normalised text, lengths, intent/phrase coverage."""
from __future__ import annotations

import numpy as np

from benchmark.data import sentences as S
from benchmark.data.lexicon import vocabulary
from benchmark.tasks import INTENTS, LANGUAGE_VOICES
from benchmark.text import normalize_text


def test_number_words():
    assert S.number_words(0) == "zero"
    assert S.number_words(42) == "forty two"
    assert S.number_words(305) == "three hundred and five"
    assert S.number_words(2024) == "two thousand and twenty four"


def test_asr_sentences_normalised_and_sized():
    rng = np.random.default_rng(0)
    for shift in (False, True):
        for _ in range(300):
            text = S.asr_sentence(rng, shift)
            assert text == normalize_text(text)
            assert 4 <= len(text.split()) <= 12, text
    assert 1000 <= len(vocabulary()) <= 3000


def test_intent_templates():
    rng = np.random.default_rng(1)
    for intent in INTENTS:
        assert len(S.IC_TEMPLATES[intent]) >= 5
        assert not set(S.IC_TEMPLATES[intent]) & set(S.IC_NEW_TEMPLATES[intent])
        for shift in (False, True):
            text, entities = S.intent_utterance(intent, rng, shift)
            assert text == normalize_text(text)
            for ent in entities:
                assert ent["value"] in text


def test_lid_and_er_pools():
    assert set(S.LID_PHRASES) == set(LANGUAGE_VOICES)
    assert all(len(v) >= 15 for v in S.LID_PHRASES.values())
    assert len(S.ER_SENTENCES) >= 30
    assert all(s == normalize_text(s) for s in S.ER_SENTENCES)
