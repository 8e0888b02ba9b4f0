"""The package's user-facing error type.

Bad arguments, unknown ids, invalid settings and malformed data raise :class:`PapergymError`. It is a
``ValueError``, so code that catches ``ValueError`` keeps working; the command line turns it (and only
it) into one line with exit status 2, while any other exception is a bug and shows its traceback.
"""

from __future__ import annotations


class PapergymError(ValueError):
    """A user error: the message names what was wrong and what is allowed."""
