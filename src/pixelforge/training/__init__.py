"""Training: one Trainer for every model kind; per-kind Tasks own the loss step."""

from pixelforge.training.task import TASKS, Task
from pixelforge.training.trainer import Interrupted, Trainer, TrainResult, train

__all__ = ["TASKS", "Interrupted", "Task", "TrainResult", "Trainer", "train"]
