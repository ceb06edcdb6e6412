"""Exceptions the CLI maps to exit codes: UserError 2, TrainingDiverged 1, CommandInterrupted
128 + the signal number (130 Ctrl-C, 143 SIGTERM)."""


class UserError(Exception):
    """Bad input, config or path; the message names the field, file or value.

    `field` names the API parameter the error is about (e.g. "tile"). Such messages speak the
    API's language (`tile=-1: ...`, `pass overwrite=True`); the CLI rewrites the parameter names
    it knows into its flags (`--tile -1: ...`, `pass --overwrite`).
    """

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the loss."""


class CommandInterrupted(Exception):
    """Ctrl-C or SIGTERM, after whatever could be saved was saved; the message says what and how
    to go on. `exit_code` is 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code
