"""Continual-learning benchmark for multi-task SLU."""
__version__ = "0.2.0"
