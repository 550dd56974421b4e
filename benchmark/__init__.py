"""Continual-learning benchmark for multi-task SLU."""
__version__ = "0.1.0"
