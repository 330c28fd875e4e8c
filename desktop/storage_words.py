"""What the dispatcher is told when the workstation's own disk or database fails: the one home
of these words (Qt-free). The UI shows them where the dispatcher acted (`not_queued`: the
panel's message line), in the connection banner's tooltip (`not_recorded`: what the link
could not save), and in the error banner (`recovered`, `cannot_open`).

Calm and precise: what happened, what it means for their work, what to do. A command that
could not be queued was *not* sent either: only an outbox row lets a command be replayed
under its key after a cut, so sending it unqueued could apply it twice (docs/operations.md,
"Workstation disk full and a damaged workstation database").
"""

from __future__ import annotations

from desktop.localdb import DatabaseDamaged, DiskFull, LocalStorageError
from desktop.salvage import Recovery

__all__ = ["cannot_open", "not_queued", "not_recorded", "recovered"]

#: What a dispatcher does meanwhile, whatever failed on the workstation.
_MEANWHILE = "meanwhile pass anything urgent by radio or phone"
_IT = "Tell IT support"


def not_queued(error: LocalStorageError) -> str:
    """The dispatcher's command (or retry, discard, edit) was not recorded, so not queued."""
    if isinstance(error, DiskFull):
        return (
            "The workstation's disk is full: this command was not queued (and not sent). "
            "Commands queued before it are safe and are still sent. Ask IT support to free "
            f"space on this workstation, then give the command again; {_MEANWHILE}."
        )
    if isinstance(error, DatabaseDamaged):
        if error.recovery is not None:
            return (
                "The workstation's database was damaged: this command was not queued. A new "
                "database was started with every queued command; give this one again."
            )
        return (
            "The workstation's database is damaged and could not be replaced yet: this "
            f"command was not queued (and not sent). {_IT} now; {_MEANWHILE}."
        )
    return (
        "This command was not queued (and not sent): the workstation could not save it "
        f"({error.detail}). Commands queued before it are safe. {_IT}; {_MEANWHILE}."
    )


def not_recorded(error: LocalStorageError) -> str:
    """What the link received (answers, the board) could not be saved on the workstation."""
    if isinstance(error, DiskFull):
        return (
            "The workstation's disk is full: updates from the server still show, but are not "
            "saved on this workstation, and new commands cannot be queued. Nothing is lost. "
            "Ask IT support to free space on this workstation."
        )
    return (
        "The workstation could not save the updates from the server "
        f"({error.detail}): they still show, and nothing is lost. {_IT} if this stays."
    )


def recovered(recovery: Recovery) -> str:
    """A damaged workstation database was replaced by a fresh one (`LocalDatabase.recoveries`)."""
    when = "while in use" if recovery.during_run else "and could not be opened"
    said = [
        f"The workstation's database was damaged {when}. It is kept for IT as "
        f"{recovery.kept}, and a new one was started."
    ]
    carried = [
        *([_count(recovery.queued, "queued command")] if recovery.queued else []),
        *([_count(recovery.refused, "command", " in Needs attention")] if recovery.refused else []),
    ]
    if carried:
        said.append(
            "Carried over under their original keys, so none is applied twice: "
            f"{' and '.join(carried)}."
        )
    elif recovery.complete and not recovery.unverified:
        said.append("It held no queued commands.")
    if recovery.unverified:
        n = len(recovery.unverified)
        listed = "; ".join(recovery.unverified[:5])
        more = f"; and {n - 5} more" if n > 5 else ""
        said.append(
            f"{_count(n, 'command')} could not be read back intact and "
            f"{'was' if n == 1 else 'were'} NOT queued again — check whether "
            f"{'it was' if n == 1 else 'they were'} done, and give "
            f"{'it' if n == 1 else 'them'} again if not (as far as can be read: {listed}{more})."
        )
    if not recovery.complete:
        said.append(
            "Parts of the damaged file could not be read: a command given shortly before may "
            "be missing — check that what you did recently shows on the board."
        )
    if not recovery.during_run:
        said.append("The board is fetched again from the server.")
    said.append(f"{_IT}.")
    return " ".join(said)


def cannot_open(error: LocalStorageError) -> str:
    """The workstation database could not be opened at start (nothing was moved or lost)."""
    if isinstance(error, DiskFull):
        return (
            "The workstation's disk is full, so its database cannot be opened. Nothing queued "
            "on it is lost. Ask IT support to free space on this workstation, then start "
            f"dispatch-desktop again; {_MEANWHILE}."
        )
    return (
        f"The workstation's database cannot be opened ({error.detail}). Nothing queued on it "
        "is lost. If dispatch-desktop is already running on this workstation, use that "
        f"window; otherwise {_IT.lower()}; {_MEANWHILE}."
    )


def _count(n: int, noun: str, after: str = "") -> str:
    """``1 queued command``, ``2 commands in Needs attention``."""
    return f"{n} {noun}{'' if n == 1 else 's'}{after}"
