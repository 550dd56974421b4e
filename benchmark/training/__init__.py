"""Training: a thin Avalanche template for the task-prompted SLU model."""
