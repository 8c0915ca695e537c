"""The one exception type that reaches users as a single line."""


class UserError(Exception):
    """Bad input: the message says what is wrong, where, and how to fix it.

    The CLI prints it as one line and exits non-zero; nothing is written.
    """
