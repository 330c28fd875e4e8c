"""`RadioGatewaySimulator`: the crews' radios as the centre's radio console gateway hears them.

A simulator, named as one: it stands in for the centre's radio console gateway (and the crews
talking on their radios), so the radio panel of a demo or a test has live traffic. It is an
ordinary protocol client: a headless `DispatchService` signed in as its own user (the demo
floor's ``radio-sim``) in the role ``radio``, which sends ``keyup`` frames
(`DispatchService.report_keyups`) and issues one command, ``radio.emergency``.

It watches the floor through its own service's view. Only units with a radio (``radio_id``)
talk:

- a unit committed to an incident (``DP``, ``ER``, ``OS``, ``TR``, ``AH``) keys up every
  ``committed_every`` seconds (a range, each wait drawn uniformly from the seeded random
  sequence); one available on the road (``AV``) every ``road_every`` seconds; one in quarters
  or out of service stays silent. A radio's first key-up comes at a random phase (so the
  roster does not talk in step); a unit whose class changes (dispatched, available again)
  draws its next wait afresh, within the new range from now;
- a transmission lasts ``talk_for`` seconds (a range): a ``talking=True`` key-up, then a
  ``talking=False`` one on the same channel;
- the channel is the unit's incident's channel (`desktop.domain.radio.unit_channel`), else the
  dispatch channel of its type: ``ems_channel`` for ``EMS_TYPES`` (MEDIC, AMBULANCE,
  RESCUE-CAPTAIN), ``fire_channel`` for the rest.

Every ``emergency_every`` wall seconds on average (exponential waits; None: never) it presses
the emergency button of a committed unit's radio, drawn at random: a ``radio.emergency``
command (`press_emergency`, also callable by hand for a given unit or radio), and the radio
keys up (an open mic) on its channel. It never raises an emergency for a radio whose alarm is
still active (``world.alarms``, not cleared): the rules refuse it too.

Times are wall seconds (the crews talk in real time, whatever the call feed's speed). Key-ups
are stamped with the server's clock as the service estimates it (`DispatchService.server_now`),
each later than the one before. Contract: `run` reports until it is cancelled or `stop` is
called; `stop` cancels it, waits for it and stops the service. Key-ups made while the service
is offline are dropped by the link (a key-up is a latest value).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from desktop.domain.radio import RadioEmergency, unit_channel
from desktop.domain.types import ASSIGNED_STATUSES, Unit, UnitStatus
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.protocol.messages import KeyUp
from desktop.service import CommandRefused, DispatchService
from sim.running import stop_runner, stop_service

__all__ = ["EMS_TYPES", "RadioGatewaySimulator"]

log = logging.getLogger("dispatch.sim.radio")

#: Unit types that talk on the EMS dispatch channel when on no incident channel.
EMS_TYPES = frozenset({"MEDIC", "AMBULANCE", "RESCUE-CAPTAIN"})

_Range = tuple[float, float]


@dataclass(slots=True)
class _Radio:
    """One radio's talk: its next key-up, or the transmission it is making."""

    unit_id: str
    kind: str = ""  # "committed", "road" or "" (silent): which range its waits come from
    next_keyup: float | None = None  # monotonic; None: none planned
    talking_until: float | None = None  # monotonic end of the transmission on ``channel``
    channel: str = ""


class RadioGatewaySimulator:
    """Reports the floor's radio traffic through ``service`` (configured, not started, signed
    in as a ``radio`` account); see the module docstring."""

    def __init__(
        self,
        service: DispatchService,
        *,
        committed_every: _Range = (20.0, 90.0),
        road_every: _Range = (120.0, 600.0),
        talk_for: _Range = (2.0, 8.0),
        emergency_every: float | None = 600.0,
        fire_channel: str = "FIRE DISPATCH",
        ems_channel: str = "EMS DISPATCH",
        tick: float = 0.2,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, (low, high) in (
            ("committed_every", committed_every),
            ("road_every", road_every),
            ("talk_for", talk_for),
        ):
            if not 0 < low <= high:
                raise ValueError(f"{name} must be a range of positive seconds, low to high")
        if emergency_every is not None and emergency_every <= 0:
            raise ValueError("emergency_every must be positive seconds, or None")
        if tick <= 0 or not fire_channel or not ems_channel:
            raise ValueError("need a positive tick and two channel names")
        self.service = service
        self.committed_every = committed_every
        self.road_every = road_every
        self.talk_for = talk_for
        self.emergency_every = emergency_every
        self.fire_channel = fire_channel
        self.ems_channel = ems_channel
        self.tick = tick
        self._rng = random.Random(seed)
        self._clock = clock
        self._radios: dict[str, _Radio] = {}  # by radio id
        self._next_emergency: float | None = None
        self._stamp = 0.0  # the last key-up time given: each one is later than the one before
        self._runner: asyncio.Task[None] | None = None
        self.reported = 0  # key-ups handed to the link
        self.emergencies: list[str] = []  # alarm ids raised, oldest first

    # --- what a radio does -----------------------------------------------------------------

    def channel_of(self, unit: Unit) -> str:
        """The channel ``unit`` talks on now (module docstring)."""
        channel = unit_channel(self.service.state.view, unit.id)
        if channel:
            return channel
        return self.ems_channel if unit.type.upper() in EMS_TYPES else self.fire_channel

    def _kind_of(self, unit: Unit) -> str:
        if unit.status in ASSIGNED_STATUSES and unit.incident_id is not None:
            return "committed"
        return "road" if unit.status is UnitStatus.AV else ""

    def _range(self, kind: str) -> _Range:
        return self.committed_every if kind == "committed" else self.road_every

    def _wait(self, kind: str) -> float:
        return self._rng.uniform(*self._range(kind))

    def keyups_due(self, now: float) -> list[KeyUp]:
        """The key-ups due at ``now`` (monotonic seconds), transmissions ending before those
        starting, and plan the next ones: one round of the simulation, without I/O."""
        units = {u.radio_id: u for u in self.service.units() if u.radio_id}
        ending: list[tuple[str, str]] = []
        starting: list[tuple[str, str]] = []
        for radio_id in sorted(self._radios.keys() | units.keys()):
            unit = units.get(radio_id)
            radio = self._radios.get(radio_id)
            if radio is None:
                if unit is None:
                    continue
                radio = self._radios[radio_id] = _Radio(unit.id, kind=self._kind_of(unit))
                if radio.kind:  # the first key-up at a random phase: not all in step
                    radio.next_keyup = now + self._rng.uniform(0.0, self._range(radio.kind)[1])
            if radio.talking_until is not None and now >= radio.talking_until:
                ending.append((radio_id, radio.channel))
                radio.talking_until = None
                radio.next_keyup = None if not radio.kind else now + self._wait(radio.kind)
            if unit is None or unit.id != radio.unit_id:  # the radio left its unit
                if radio.talking_until is None:
                    del self._radios[radio_id]
                continue
            kind = self._kind_of(unit)
            if kind != radio.kind:  # dispatched, available again: a new rhythm from now
                radio.kind = kind
                radio.next_keyup = None if not kind else now + self._wait(kind)
            if radio.talking_until is not None or radio.next_keyup is None:
                continue
            if now >= radio.next_keyup:
                radio.channel = self.channel_of(unit)
                radio.talking_until = now + self._rng.uniform(*self.talk_for)
                radio.next_keyup = None
                starting.append((radio_id, radio.channel))
        keyups = [self._keyup(c, r, talking=False) for r, c in ending]
        keyups += [self._keyup(c, r, talking=True) for r, c in starting]
        return keyups

    def _keyup(self, channel: str, radio_id: str, *, talking: bool) -> KeyUp:
        self._stamp = max(self.service.server_now(), self._stamp + 0.001)
        return KeyUp(channel=channel, radio_id=radio_id, at=self._stamp, talking=talking)

    # --- emergencies -----------------------------------------------------------------------

    def active_alarm_radios(self) -> set[str]:
        """The radios whose emergency is still active (raised, not cleared) in the view."""
        alarms = self.service.state.view.alarms.values()
        return {alarm.radio_id for alarm in alarms if alarm.cleared_at is None}

    def press_emergency(self, unit_or_radio_id: str) -> str:
        """Press the emergency button of a unit's radio (a unit id on the roster) or of a
        radio (any other id) now: submit ``radio.emergency`` and key the radio up (an open
        mic, released after a transmission's length). Returns the alarm id. Raises
        `ValueError` for a unit with no radio, and `CommandRefused` when the command cannot
        apply (``already_exists``: that radio's alarm is still active)."""
        unit = self.service.unit(unit_or_radio_id)
        if unit is not None:
            if not unit.radio_id:
                raise ValueError(f"{unit.id} has no radio")
            radio_id, channel = unit.radio_id, self.channel_of(unit)
        else:
            radio_id, channel = unit_or_radio_id, self.fire_channel
        alarm_id = str(uuid7())
        self.service.submit(
            RadioEmergency(
                alarm_id=alarm_id,
                radio_id=radio_id,
                channel=channel,
                activated_at=self.service.server_now(),
            )
        )
        self.emergencies.append(alarm_id)
        log.info("simulated emergency of radio %s on %s", radio_id, channel or "no channel")
        self._open_mic(radio_id, unit.id if unit is not None else "", channel)
        return alarm_id

    def _open_mic(self, radio_id: str, unit_id: str, channel: str) -> None:
        """The radio in emergency transmits now (best effort: offline, it is dropped)."""
        now = self._clock()
        radio = self._radios.setdefault(radio_id, _Radio(unit_id))
        keyups = []
        if radio.talking_until is not None:
            keyups.append(self._keyup(radio.channel, radio_id, talking=False))
        radio.channel, radio.next_keyup = channel, None
        radio.talking_until = now + self._rng.uniform(*self.talk_for)
        keyups.append(self._keyup(channel, radio_id, talking=True))
        self._report(keyups)

    def _emergency_due(self, now: float) -> None:
        """Press a committed unit's emergency button when the next one is due."""
        mean = self.emergency_every
        if mean is None:
            return
        if self._next_emergency is None:
            self._next_emergency = now + self._rng.expovariate(1.0 / mean)
            return
        if now < self._next_emergency:
            return
        self._next_emergency = now + self._rng.expovariate(1.0 / mean)
        active = self.active_alarm_radios()
        candidates = sorted(
            unit.id
            for unit in self.service.units()
            if unit.radio_id and unit.radio_id not in active and self._kind_of(unit) == "committed"
        )
        if not candidates:
            return
        try:
            self.press_emergency(self._rng.choice(candidates))
        except CommandRefused as exc:
            log.debug("simulated emergency skipped: %s", exc.message)

    # --- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Sign in, then talk and press emergency buttons until cancelled."""
        self._runner = asyncio.current_task()
        self.service.start()
        while self.service.status.phase is not LinkPhase.LIVE:
            await asyncio.sleep(0.05)
        while True:
            now = self._clock()
            self._report(self.keyups_due(now))
            self._emergency_due(now)
            await asyncio.sleep(self.tick)

    def _report(self, keyups: list[KeyUp]) -> None:
        if not keyups:
            return
        try:
            self.reported += self.service.report_keyups(keyups)
        except CommandRefused as exc:  # this account may not report: say so once, then stop
            log.error("the radio gateway simulator cannot report key-ups: %s", exc.message)
            raise

    async def stop(self) -> None:
        """Stop talking and stop the service."""
        await stop_runner(self._runner)
        await stop_service(self.service)
