"""`CallFeedSimulator`: a simulated floor that feeds real SFFD calls through the public protocol.

A simulator, named as one: it stands in for the callers and the other dispatchers and crews of a
real floor so a newcomer's screen is alive. It is an ordinary protocol client (a headless
`DispatchService` signed in as its own user), so everything it does travels the same path as a
dispatcher's commands.

Every ``interval`` seconds it opens the next call of the demo data as an incident. A share of
calls (``handled_share``) it also works itself: dispatches the units that really answered (or
available units of the same type), and moves them en route, on scene and back to available at
the real intervals divided by ``speed``, then closes the incident. The rest stay pending for the
person at the keyboard.

Seeding the roster, it gives each unit its radio id (``radio_id``: by default the synthetic
`sim.demo_data.demo_radio_id` of its place in the roster; None: no radios), to a unit added
now and to one already on the roster without a radio (a floor started over an older database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence

from desktop.domain.incidents import IncidentClose, IncidentCreate
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import AVAILABLE_STATUSES, LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus, UnitUpdate
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.localdb import LocalStorageError
from desktop.service import CommandRefused, DispatchService
from sim.demo_data import CallTemplate, RosterUnit, demo_radio_id

__all__ = ["CallFeedSimulator"]

log = logging.getLogger("dispatch.sim")


class CallFeedSimulator:
    """Drives ``service`` (already configured, not started) with ``calls`` over ``roster``."""

    def __init__(
        self,
        service: DispatchService,
        roster: Sequence[RosterUnit],
        calls: Sequence[CallTemplate],
        *,
        interval: float = 20.0,
        speed: float = 10.0,
        handled_share: float = 0.6,
        seed: int | None = None,
        radio_id: Callable[[int], str] | None = demo_radio_id,
    ) -> None:
        self.service = service
        self.roster = list(roster)
        self.calls = list(calls)
        self.interval = interval
        self.speed = speed
        self.handled_share = handled_share
        self._rng = random.Random(seed)
        self._radio_id = radio_id
        self._tasks: set[asyncio.Task[None]] = set()
        self.incidents_opened = 0

    async def run(self, preload: int = 6) -> None:
        """Seed the roster, open ``preload`` calls at once, then one call per ``interval``."""
        self.service.start()
        while self.service.status.phase is not LinkPhase.LIVE:
            await asyncio.sleep(0.05)
        self._seed_roster()
        position = self._rng.randrange(len(self.calls))
        try:
            for n in range(10**9):
                call = self.calls[(position + n) % len(self.calls)]
                self._open(call)
                if n >= preload:
                    await asyncio.sleep(self.interval * self._rng.uniform(0.5, 1.5))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _seed_roster(self) -> None:
        """Add the roster's units not on the floor yet; give each one its radio id."""
        for index, unit in enumerate(self.roster):
            radio_id = self._radio_id(index) if self._radio_id is not None else ""
            held = self.service.unit(unit.id)
            if held is None:
                status = UnitStatus.AQ if self._rng.random() < 0.7 else UnitStatus.AV
                self._submit(
                    UnitAdd(
                        unit_id=unit.id,
                        type=unit.type,
                        station=unit.station,
                        status=status,
                        radio_id=radio_id,
                    )
                )
            elif radio_id and not held.radio_id:
                self._submit(UnitUpdate(unit_id=unit.id, radio_id=radio_id))

    def _open(self, call: CallTemplate) -> None:
        incident_id = uuid7()
        location = LocationArgs(
            address=call.address, city="San Francisco", lat=call.lat, lon=call.lon, verified=True
        )
        if not self._submit(
            IncidentCreate(
                incident_id=incident_id, type=call.type, priority=call.priority, location=location
            )
        ):
            return
        self.incidents_opened += 1
        if self._rng.random() < self.handled_share:
            task = asyncio.get_running_loop().create_task(self._work(incident_id, call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _work(self, incident_id: str, call: CallTemplate) -> None:
        """Dispatch and run the call's units through their statuses, then close it."""
        first = min((r.dispatched for r in call.responses), default=30.0)
        await asyncio.sleep(max(2.0, first / self.speed))
        units = self._pick_units(call)
        if not units or not self._submit(UnitDispatch(incident_id=incident_id, unit_ids=units)):
            return
        timeline = []
        for response, unit_id in zip(call.responses, units, strict=False):
            for status, at in (
                (UnitStatus.ER, response.enroute),
                (UnitStatus.OS, response.onscene),
                (UnitStatus.AV, response.available),
            ):
                if at is not None:
                    timeline.append((at, unit_id, status))
        timeline.append((max((t for t, _, _ in timeline), default=first) + 1, "", UnitStatus.AV))
        elapsed = first
        for at, unit_id, status in sorted(timeline, key=lambda item: item[0]):
            await asyncio.sleep(max(0.2, (at - elapsed) / self.speed))
            elapsed = max(elapsed, at)
            if unit_id:
                self._submit(UnitSetStatus(unit_id=unit_id, status=status))
        for unit_id in units:  # anyone still committed clears before the close
            unit = self.service.unit(unit_id)
            if unit is not None and unit.incident_id == incident_id:
                self._submit(UnitSetStatus(unit_id=unit_id, status=UnitStatus.AV))
        self._submit(IncidentClose(incident_id=incident_id, disposition="Resolved (simulated)"))

    def _pick_units(self, call: CallTemplate) -> list[str]:
        """The units that really answered, or available ones of the same type instead."""
        picked: list[str] = []
        for response in call.responses:
            unit = self.service.unit(response.unit_id)
            if unit is None:
                continue
            if unit.status in AVAILABLE_STATUSES and unit.id not in picked:
                picked.append(unit.id)
                continue
            spare = next(
                (
                    u.id
                    for u in self.service.units()
                    if u.type == unit.type and u.status in AVAILABLE_STATUSES and u.id not in picked
                ),
                None,
            )
            if spare is not None:
                picked.append(spare)
        return picked

    def _submit(self, args: CommandArgs) -> bool:
        try:
            self.service.submit(args)
        except CommandRefused as exc:
            log.debug("simulator skipped %s: %s", type(args).__name__, exc.message)
            return False
        except LocalStorageError:
            log.exception("simulator could not queue a command")
            return False
        return True

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.service.stop(close_within=2.0)
