"""Exceptions the CLI maps to exit codes: UserError 2, TrainingDiverged 1, CommandInterrupted 130."""


class UserError(Exception):
    """Bad input, config or path; the message names the field, file or value."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the loss."""


class CommandInterrupted(Exception):
    """Ctrl-C, after whatever could be saved was saved; the message says what and how to go on."""
