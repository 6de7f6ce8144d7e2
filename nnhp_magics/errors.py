"""Errors a user can fix, kept apart from bugs.

Everything the user can correct derives from :class:`NnhpError`; the magics turn
it into IPython's ``UsageError`` (which prints one paragraph, no traceback), while
any other exception keeps its traceback because it is a bug.
"""

from __future__ import annotations


class NnhpError(Exception):
    """A problem with the user's input: shown as one clear message."""


class SpecError(NnhpError):
    """A spec line that cannot be parsed or makes no sense.

    Carries the line number (1-based), the column (0-based) of the offending token,
    the text of the line and a hint, and renders them as the line with a caret
    under the token.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        col: int | None = None,
        text: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.col = col
        self.text = text
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"spec line {self.line}: " if self.line is not None else ""
        parts = [f"{where}{self.message}"]
        if self.text is not None:
            parts.append("    " + self.text)
            if self.col is not None:
                parts.append("    " + " " * self.col + "^")
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class AllTrialsFailed(NnhpError):
    """Every trial of a search failed; the message summarises the reasons."""

