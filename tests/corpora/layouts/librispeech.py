"""A tiny LibriSpeech tree as the openslr tarballs extract it: `LibriSpeech/` with the metadata
files at its top and train-clean-100 (2 speakers, 3 chapters) and test-clean (2 speakers) below,
16 kHz flac plus one `<speaker>-<chapter>.trans.txt` per chapter."""
from __future__ import annotations

from pathlib import Path

# split -> utterance id -> transcript (upper case with apostrophes, as LibriSpeech writes them)
TRANSCRIPTS = {
    "train-clean-100": {
        "19-198-0000": "NORTHANGER ABBEY",
        "19-198-0001": "NO ONE WHO HAD EVER SEEN CATHERINE MORLAND",
        "26-495-0000": "THE RIVER RAN DOWN TO THE SEA",
        "26-496-0000": "SHE DIDN'T ANSWER AT ONCE",
    },
    "test-clean": {
        "1089-134686-0000": "HE HOPED THERE WOULD BE STEW FOR DINNER",
        "1089-134686-0001": "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
        "121-121726-0000": "ALSO A POPULAR CONTRIVANCE",
    },
}
_VOICES = {"19": "en-us+f2", "26": "en-us", "1089": "en+m3", "121": "en-us+f4"}


def write(root: Path, say) -> Path:
    """Write the tree under `root` and return `root/LibriSpeech` (the corpus root; the loader also
    accepts `root` itself, the folder the tarballs were extracted in)."""
    corpus = root / "LibriSpeech"
    for split, utts in TRANSCRIPTS.items():
        chapters: dict[Path, list[str]] = {}
        for utt_id, text in utts.items():
            speaker, chapter, _ = utt_id.split("-")
            folder = corpus / split / speaker / chapter
            say(text.lower(), folder / f"{utt_id}.flac", sample_rate=16000, voice=_VOICES[speaker])
            chapters.setdefault(folder, []).append(f"{utt_id} {text}\n")
        for folder, lines in chapters.items():
            (folder / f"{folder.parent.name}-{folder.name}.trans.txt").write_text("".join(lines))
    (corpus / "README.TXT").write_text("LibriSpeech ASR corpus\n")
    (corpus / "LICENSE.TXT").write_text("CC BY 4.0\n")
    (corpus / "SPEAKERS.TXT").write_text(
        ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
        "19   | F | train-clean-100  | 25.19 | Kara Shallenberg\n"
        "26   | M | train-clean-100  | 25.08 | Denny Sayers\n"
        "121  | F | test-clean       | 18.57 | Anonymous\n"
        "1089 | M | test-clean       | 21.29 | Anonymous\n")
    return corpus
