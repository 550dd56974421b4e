"""Pretrained Whisper as the SLU model (UniverSLU-style prompts): weights from the embedded
tiny.en, a local Hugging Face directory or an OpenAI checkpoint (`checkpoints`), the
variable-length masked model (`model`) and the prompt tokenizer (`tokenizer`)."""
