"""`AddressEntry`: where a call-taker types the incident's address and sees, as they type, the
street index's candidates (`desktop.geo.geocoder`), offline.

Keys, in the address field: Down/Up move through the candidates; Enter takes the highlighted
candidate, or verifies what is typed (one clear match is *verified*; several are listed to
choose from; none says why); Ctrl+Enter keeps what is typed unverified on purpose (*forced*:
the incident is flagged for follow-up). Either way `accepted` is emitted with the location
to save and the index's name of it ("" when forced). Typing again after that withdraws it
(`withdrawn`). Until the index is loaded (`set_geocoder`), only a forced address is possible.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.domain.types import LocationArgs
from desktop.geo.geocoder import Candidate, Geocoder, GeocodeResult
from ui.widgets.message_line import MessageLine, MessageState

__all__ = ["CANDIDATES_SHOWN", "AddressEntry", "AddressLine"]

#: Candidates listed under the field.
CANDIDATES_SHOWN = 6
_CITY = "San Francisco"


class AddressLine(QLineEdit):
    """The address field: hands the keys that drive the candidate list to its `AddressEntry`."""

    def __init__(self, entry: AddressEntry) -> None:
        super().__init__(entry)
        self._entry = entry

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self._entry.move_candidate(1 if key == Qt.Key.Key_Down else -1)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ControlModifier:
                self._entry.force()
            else:
                self._entry.verify()
            return
        super().keyPressEvent(event)


class AddressEntry(QWidget):
    """The address field, its candidates and its verdict (see the module docstring)."""

    accepted = Signal(object, str)  # LocationArgs, the index's name of it ("" when forced)
    withdrawn = Signal()  # the accepted address was edited: no location any more

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.geocoder: Geocoder | None = None
        self.last_lookup_ms = 0.0  # how long the last type-ahead lookup took
        self.field = AddressLine(self)
        self.field.setObjectName("address_input")
        self.field.setPlaceholderText("Incident address: 1200 Market St, Mission St/24th St…")
        self.field.textEdited.connect(self._on_edited)
        self.candidates = QListWidget(self)
        self.candidates.setObjectName("address_candidates")
        self.candidates.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.candidates.setMaximumHeight(CANDIDATES_SHOWN * 22 + 6)
        self.candidates.itemActivated.connect(lambda item: self._take(item))
        self.candidates.hide()
        self.verdict = MessageLine("address_verdict", hide_when_empty=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.field)
        layout.addWidget(self.candidates)
        layout.addWidget(self.verdict)
        self._accepted = False
        self._shown: list[Candidate] = []

    def set_geocoder(self, geocoder: Geocoder | None, why_not: str = "") -> None:
        """Use ``geocoder`` from now on; None: the index could not be loaded (``why_not``)."""
        self.geocoder = geocoder
        if geocoder is None:
            self.verdict.say(
                f"Street index not available ({why_not}): Ctrl+Enter keeps an address unverified",
                MessageState.FAILED,
            )
        elif self.field.text().strip():
            self._on_edited(self.field.text())

    def set_text(self, text: str) -> None:
        """Put ``text`` in the field as if typed (the caller's civic address, a nearby
        address) and look it up; the call-taker still confirms it with Enter."""
        self.field.setText(text)
        self._on_edited(text)

    def clear(self) -> None:
        self.field.clear()
        self._show([])
        self.verdict.clear_message()
        self._accepted = False

    # --- typing ------------------------------------------------------------------------------

    def _on_edited(self, text: str) -> None:
        if self._accepted:
            self._accepted = False
            self.withdrawn.emit()
        self.verdict.clear_message()
        if self.geocoder is None or not text.strip():
            self._show([])
            return
        started = time.perf_counter()
        found = self.geocoder.suggest(text, limit=CANDIDATES_SHOWN)
        self.last_lookup_ms = (time.perf_counter() - started) * 1000
        self._show(found)

    def _show(self, found: list[Candidate]) -> None:
        self._shown = found
        self.candidates.clear()
        for candidate in found:
            item = QListWidgetItem(candidate.label)
            item.setData(Qt.ItemDataRole.UserRole, candidate.label)
            self.candidates.addItem(item)
        self.candidates.setVisible(bool(found))
        if found:
            self.candidates.setCurrentRow(0)

    def move_candidate(self, step: int) -> None:
        rows = self.candidates.count()
        if rows:
            self.candidates.setCurrentRow((self.candidates.currentRow() + step) % rows)

    # --- accepting ---------------------------------------------------------------------------

    def verify(self) -> None:
        """Enter: take the highlighted candidate, else look up what is typed."""
        text = self.field.text().strip()
        if not text:
            self.verdict.say("Type the incident's address first", MessageState.REFUSED)
            return
        if self.geocoder is None:
            self.verdict.say(
                "The street index is still loading: Ctrl+Enter keeps the address unverified",
                MessageState.REFUSED,
            )
            return
        item = self.candidates.currentItem() if self.candidates.isVisible() else None
        query = str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else text
        self._decide(self.geocoder.geocode(query), text)

    def _take(self, item: QListWidgetItem) -> None:
        if self.geocoder is not None:
            self._decide(self.geocoder.geocode(str(item.data(Qt.ItemDataRole.UserRole))), "")

    def _decide(self, result: GeocodeResult, typed: str) -> None:
        if result.status == "verified" and result.lat is not None and result.lon is not None:
            label = result.matched + (f" {result.unit}" if result.unit else "")
            self.field.setText(label)
            self._show([])
            location = LocationArgs(
                address=label, city=_CITY, lat=result.lat, lon=result.lon, verified=True
            )
            self._accept(location, result.matched, f"Verified: {result.matched}")
            return
        self._show(result.candidates[:CANDIDATES_SHOWN])
        why = result.reason or "no such address in the street index"
        if result.candidates:
            self.verdict.say(
                f"Not verified: {why}. ↓ Enter picks a candidate; Ctrl+Enter keeps "
                f"'{typed or self.field.text()}' unverified",
                MessageState.REFUSED,
            )
        else:
            self.verdict.say(
                f"Not verified: {why}. Ctrl+Enter keeps it unverified (flagged for follow-up)",
                MessageState.REFUSED,
            )

    def force(self) -> None:
        """Ctrl+Enter: keep what is typed without verification (flagged for follow-up)."""
        text = self.field.text().strip()
        if not text:
            self.verdict.say("Type the incident's address first", MessageState.REFUSED)
            return
        self._show([])
        location = LocationArgs(address=text[:200], city=_CITY, forced=True)
        self._accept(location, "", "Unverified address kept: the incident is flagged for follow-up")

    def _accept(self, location: LocationArgs, verified_as: str, words: str) -> None:
        self._accepted = True
        state = MessageState.OK if verified_as else MessageState.REFUSED
        self.verdict.say(words, state)
        self.accepted.emit(location, verified_as)
