import torch
from slu_helpers import greedy_decode_uncached, make_x


def test_cached_greedy_equals_uncached(tiny, tokenizer):
    torch.manual_seed(1)
    tiny.double().eval()  # double precision: no argmax flips from rounding differences
    for p in tiny.parameters():  # larger weights -> peaked, varied outputs
        p.data.mul_(3)
    x = make_x([150, 90, 60, 120]).double()
    prompts = torch.tensor([tokenizer.prompt(t) for t in ("asr", "er", "ner", "asr")])
    enc = tiny(x)
    cached = tiny.greedy_decode(enc, prompts, max_len=25, eos_id=tokenizer.eos_id)
    uncached = greedy_decode_uncached(tiny, enc, prompts, max_len=25, eos_id=tokenizer.eos_id)
    assert cached == uncached
    assert any(len(r) > 3 for r in cached)  # the test exercises several cached steps


def test_greedy_stops_at_eos_and_respects_max_len(tiny, tokenizer):
    tiny.eval()
    eos = tokenizer.eos_id
    with torch.no_grad():
        tiny.decoder.proj.bias.fill_(-100.0)
        tiny.decoder.proj.bias[eos] = 100.0  # always predict eos
    enc = tiny(make_x([100, 50]))
    prompts = torch.tensor([tokenizer.prompt("er")] * 2)
    assert tiny.greedy_decode(enc, prompts, max_len=5, eos_id=eos) == [[], []]
    with torch.no_grad():
        tiny.decoder.proj.bias[eos] = -100.0
        tiny.decoder.proj.bias[tokenizer.ids["a"]] = 100.0
    assert tiny.greedy_decode(enc, prompts, max_len=4, eos_id=eos) == [[tokenizer.ids["a"]] * 4] * 2


def test_beam_search_with_beam_1_equals_greedy(tiny, tokenizer):
    tiny.double().eval()
    for p in tiny.parameters():
        p.data.mul_(3)
    enc = tiny(make_x([120]).double())
    prompt = torch.tensor(tokenizer.prompt("asr"))
    greedy = tiny.greedy_decode(enc, prompt[None], max_len=20, eos_id=tokenizer.eos_id)[0]
    # Without length normalisation a beam of 1 is greedy search.
    beam1 = tiny.beam_search(enc, prompt, beam=1, max_len=20, eos_id=tokenizer.eos_id,
                             length_penalty=0.0)
    assert beam1 == greedy
    assert isinstance(tiny.beam_search(enc, prompt, beam=4, max_len=20), list)
