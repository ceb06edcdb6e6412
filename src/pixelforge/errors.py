"""Exceptions that mean "the user's input is wrong": the CLI prints one line and exits 2."""


class UserError(Exception):
    """Bad input, config or path; the message names the field, file or value."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the loss."""
