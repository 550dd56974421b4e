"""Evaluation: per-task metrics of a model (`evaluate`) and continual-learning metrics."""
