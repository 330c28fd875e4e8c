"""`MessageLine`: where a panel tells the dispatcher, in place, how their last action went; and
`submit_and_say`, the one way a panel submits commands and reports the outcome.

Every panel (command line, Incident detail, Units, Alerts) uses these, so a refusal reads the
same wherever it happens:

- queued: the panel's confirmation (``ok``, green);
- refused by the rules or the role on this workstation, nothing queued: the refusal's own
  message (``refused``, amber);
- not recorded on this workstation's disk (full, damaged…), nothing queued and nothing sent:
  `desktop.storage_words.not_queued`, what happened and what to do (``failed``, red);
- refused by the server after it was sent: said by the panel that names it (``server``, red; the
  command waits under Needs attention);
- what an action would do, before it is taken (the command line as it is typed: ``preview``,
  muted).

The theme colours a line by its ``state`` property (``QLabel[message_line="true"][state=…]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from PySide6.QtWidgets import QLabel, QWidget

from desktop.domain.kinds import CommandArgs
from desktop.localdb import LocalStorageError
from desktop.service import CommandRefused, DispatchService
from desktop.storage_words import not_queued

__all__ = ["MessageLine", "MessageState", "attempt", "submit_and_say"]


class MessageState(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    SERVER = "server"
    PREVIEW = "preview"


class MessageLine(QLabel):
    """One line of outcome text; empty (and hidden when ``hide_when_empty``) until told."""

    def __init__(
        self, object_name: str, *, hide_when_empty: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setProperty("message_line", True)
        self.setWordWrap(True)
        self._hide_when_empty = hide_when_empty
        if hide_when_empty:
            self.hide()

    @property
    def state(self) -> MessageState | None:
        value = self.property("state")
        return MessageState(value) if value else None

    def say(self, text: str, state: MessageState = MessageState.OK) -> None:
        """Show ``text`` coloured by ``state``; ``""`` clears the line."""
        self.setText(text)
        self.setToolTip(text)
        self.setProperty("state", state.value if text else "")
        self.style().unpolish(self)  # the theme colours it by state
        self.style().polish(self)
        if self._hide_when_empty:
            self.setVisible(bool(text))

    def clear_message(self) -> None:
        self.say("")


def attempt(line: MessageLine, action: Callable[[], object], done: str) -> bool:
    """Run a workstation ``action`` (submit, retry, discard…) and say how it went on ``line``:
    ``done`` if it went through, else why not, in the one wording. True if it went through."""
    try:
        action()
    except CommandRefused as exc:
        line.say(exc.message, MessageState.REFUSED)
        return False
    except LocalStorageError as exc:
        line.say(not_queued(exc), MessageState.FAILED)
        return False
    except KeyError as exc:  # a Needs attention entry someone else already handled
        line.say(str(exc.args[0]) if exc.args else "no longer there", MessageState.REFUSED)
        return False
    line.say(done, MessageState.OK)
    return True


def submit_and_say(
    service: DispatchService,
    line: MessageLine,
    commands: CommandArgs | Sequence[CommandArgs],
    done: str,
) -> bool:
    """Queue ``commands`` (all or none, each checked once) and say the outcome on ``line``."""
    batch = [commands] if isinstance(commands, CommandArgs) else list(commands)
    return attempt(line, lambda: service.submit_all(batch), done)
