"""`History`: the command line's Up/Down recall of entered lines, like a shell's."""

from __future__ import annotations

from collections import deque

__all__ = ["History"]


class History:
    """Up/Down recall of entered lines, like a shell's. `push` records a line (stripped; blank
    lines and a repeat of the newest are not kept; the oldest falls off beyond ``max_length``)
    and ends browsing. `previous` steps to an older line (staying on the oldest), remembering on
    the first step the text being typed; `next` steps towards the newest and, past it, gives back
    that remembered text and ends browsing. Both return the text to show, or None when the line
    should stay as it is (nothing to recall, or not browsing)."""

    def __init__(self, max_length: int = 200) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        self._lines: deque[str] = deque(maxlen=max_length)
        self._index: int | None = None  # position while browsing
        self._draft = ""

    def entries(self) -> list[str]:
        """The kept lines, oldest first."""
        return list(self._lines)

    def push(self, line: str) -> None:
        self.reset()
        line = line.strip()
        if line and (not self._lines or self._lines[-1] != line):
            self._lines.append(line)

    def previous(self, current_text: str) -> str | None:
        if not self._lines:
            return None
        if self._index is None:
            self._draft, self._index = current_text, len(self._lines)
        self._index = max(self._index - 1, 0)
        return self._lines[self._index]

    def next(self) -> str | None:
        if self._index is None:
            return None
        self._index += 1
        if self._index < len(self._lines):
            return self._lines[self._index]
        draft = self._draft
        self.reset()
        return draft

    def reset(self) -> None:
        """Stop browsing and forget the remembered text."""
        self._index, self._draft = None, ""
