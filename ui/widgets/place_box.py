"""`PlaceBox`: the premise's hazard flags and the prior incidents at an address, shown as soon as
the location is verified (Call-taking) and on the incident (Incident detail). The words are
`desktop.calltaking.place`'s.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.calltaking.place import PlaceInfo, hazard_text, prior_text

__all__ = ["PlaceBox"]


class PlaceBox(QWidget):
    """Hazards (loud) and prior incidents (quiet); hidden when there is nothing to say."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.hazards = QLabel()
        self.hazards.setObjectName(f"{object_name}_hazards")
        self.hazards.setProperty("class", "hazard")
        self.hazards.setWordWrap(True)
        self.prior = QLabel()
        self.prior.setObjectName(f"{object_name}_prior")
        self.prior.setProperty("class", "muted")
        self.prior.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hazards)
        layout.addWidget(self.prior)
        self.show_place(PlaceInfo())

    def show_place(self, info: PlaceInfo) -> None:
        premise = info.premise
        self.hazards.setText(f"⚠ {hazard_text(premise)}" if premise is not None else "")
        self.hazards.setVisible(premise is not None)
        if info.prior:
            lines = [f"Prior incidents here ({len(info.prior)}):"]
            lines += [f"  {prior_text(incident)}" for incident in info.prior]
            self.prior.setText("\n".join(lines))
        else:
            self.prior.setText("No prior incidents at this address.")
        self.setVisible(True)
