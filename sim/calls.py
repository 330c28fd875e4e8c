"""`CallSimulator`: the telephone network, offering realistic 911 calls through the protocol.

A simulator, named as one: it stands in for the callers and the carriers' network (what a SIP
intake or an NG911 gateway delivers), so the call-taking panels of a demo or a test have calls
to answer. It is an ordinary protocol client: a headless `DispatchService` signed in as its
own user in the role ``telephony``, issuing ``call.offer`` and ``call.end`` only.

Every call is one of the demo data's real SFFD calls (its location and type), delivered as the
network would, by class of service (`plan`):

- **wireless**: a geodetic Circle (GPS 10-50 m or Cell 100-300 m, confidence 90 or 95 %), or
  now and then an Ellipse (Cell, semi-major axis 30-300 m); the centre is displaced from the
  true point by a random offset inside the shape, as a real fix is;
- **VoIP** and **wireline** (only where the demo call has a block address): an RFC 5139 civic
  address (``HNO``, ``RD``, ``STS``, ``A3`` SAN FRANCISCO, ``A1`` CA, ``country`` US) of one
  house on the block, the same house for every call on that block (`caller_address`), so a
  repeat caller and premise flags meet there;
- the odd **text** call (a Cell circle).

Callback numbers are clearly fictional: 415 or 628, 555-0100 to 555-0199. A share of callers
(``abandon_share``) hang up while the call rings, 3-20 s after it was offered (if it is still
ringing then), so the callback list fills; a few (``after_answer_share``) hang up 3-15 s after
a call-taker answered. A call nobody answers within ``ring_timeout`` (120 s) is never ended by
the simulator: the call-takers decide what to do with it. ``speed`` divides every caller delay
(not ``interval``, the mean time between calls, which are a Poisson stream); ``seed`` makes the
sequence of calls and callers reproducible.

Contract: `run` offers calls until it is cancelled or `stop` is called; `stop` cancels every
task the simulator started (it holds them all), waits for them and stops the service.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import re
import time
import zlib
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.domain.caller_location import CallerLocation, CivicAddress, Geodetic
from desktop.domain.calls import CallEnd, CallOffer
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import CallStatus
from desktop.geo.address_parse import DIRECTIONS, SUFFIXES
from desktop.geo.geocoder import Geocoder
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.localdb import LocalStorageError
from desktop.service import CommandRefused, DispatchService
from desktop.state import Change
from sim.demo_data import CallTemplate
from sim.running import stop_runner, stop_service

__all__ = ["RING_TIMEOUT_S", "CallSimulator", "CallerAddress", "PlannedCall", "caller_address"]

log = logging.getLogger("dispatch.sim.calls")

#: A call ringing this long (caller seconds) is left to the call-takers: never ended here.
RING_TIMEOUT_S = 120.0
#: Classes of service and their weights, where a civic address can be given / where not.
_CIVIC_MIX = (("wireless", 0.45), ("ellipse", 0.15), ("voip", 0.15), ("wireline", 0.19))
_GEODETIC_MIX = (("wireless", 0.78), ("ellipse", 0.16))
_TEXT_WEIGHT = 0.06
_SURNAMES = ("GARCIA", "NGUYEN", "CHEN", "SMITH", "LEE", "JOHNSON", "WONG", "LOPEZ", "PATEL")
_BLOCK = re.compile(r"^(\d+) Block of (?:Blk )?(.+)$", re.IGNORECASE)  # "0 Block of Blk 5th St"
_STREET_TYPES = frozenset(SUFFIXES.values())
_METRES_PER_DEGREE = 111_320.0
#: House numbers tried on a block before it is taken to have no house to call from.
_HOUSE_TRIES = 20


@dataclass(frozen=True, slots=True)
class CallerAddress:
    """One house: its number, street (``"POLK ST"``) and point. ``label`` is the address as
    the street index names it (``"1017 POLK ST"``): the key of a premise there."""

    number: int
    street: str
    lat: float
    lon: float

    @property
    def label(self) -> str:
        return f"{self.number} {self.street}"

    def civic(self) -> CivicAddress:
        """The RFC 5139 civic address of this house, in San Francisco."""
        words = self.street.split()
        fields = {"country": "US", "A1": "CA", "A3": "SAN FRANCISCO", "HNO": str(self.number)}
        if len(words) > 1 and words[-1] in DIRECTIONS:
            fields["POD"] = words.pop()
        if len(words) > 1 and words[-1] in _STREET_TYPES:
            fields["STS"] = words.pop()
        fields["RD"] = " ".join(words)
        return CivicAddress(fields=fields)


def caller_address(template: CallTemplate, geocoder: Geocoder) -> CallerAddress | None:
    """The house a call at ``template``'s block comes from: a house number of that hundred
    that the street index verifies, the same one every time for the same block (chosen by a
    hash of the address, not by the simulator's seed). None when the demo call has no block
    address (an intersection, a call box) or no number tried on it verifies: its calls then
    carry a geodetic location only."""
    block = _BLOCK.match(template.address.strip())
    if block is None:
        return None
    hundred, street = int(block[1]), block[2].upper()
    choices = random.Random(zlib.crc32(template.address.upper().encode()))
    for number in choices.sample(range(hundred + 1, hundred + 100), _HOUSE_TRIES):
        found = geocoder.geocode(f"{number} {street}")
        if found.status == "verified" and found.lat is not None and found.lon is not None:
            named = found.matched.split(" ", 1)[1]
            return CallerAddress(number, named, found.lat, found.lon)
    return None


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One call as the network will deliver it: the offer, and what its caller will do.
    ``hang_up_after``: seconds after the offer the caller hangs up if still ringing;
    ``talk_for``: seconds after the answer the caller hangs up; None: neither."""

    offer: CallOffer
    hang_up_after: float | None = None
    talk_for: float | None = None


class CallSimulator:
    """Offers ``calls`` (demo call templates) through ``service`` (configured, not started,
    signed in as a ``telephony`` account); see the module docstring."""

    def __init__(
        self,
        service: DispatchService,
        calls: Sequence[CallTemplate],
        *,
        interval: float = 60.0,
        speed: float = 1.0,
        abandon_share: float = 0.2,
        after_answer_share: float = 0.05,
        ring_timeout: float = RING_TIMEOUT_S,
        seed: int | None = None,
        geocoder: Geocoder | None = None,
    ) -> None:
        if not calls or interval <= 0 or speed <= 0:
            raise ValueError("need calls, and a positive interval and speed")
        self.service = service
        self.calls = list(calls)
        self.interval = interval
        self.speed = speed
        self.abandon_share = abandon_share
        self.after_answer_share = after_answer_share
        self.ring_timeout = ring_timeout
        self.geocoder = geocoder or Geocoder.load_default()
        self._rng = random.Random(seed)
        self._houses: dict[str, CallerAddress | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._answered: dict[str, asyncio.Event] = {}  # calls whose answer a caller awaits
        self._runner: asyncio.Task[None] | None = None
        self.offered = 0
        self.ended = 0

    # --- what the network delivers ---------------------------------------------------------

    def house(self, template: CallTemplate) -> CallerAddress | None:
        """`caller_address` of ``template``, worked out once per block."""
        if template.address not in self._houses:
            self._houses[template.address] = caller_address(template, self.geocoder)
        return self._houses[template.address]

    def plan(self, template: CallTemplate) -> PlannedCall:
        """The next call, at ``template``'s location (draws from the simulator's random
        sequence: with a seed, the same templates give the same calls, ids and times aside)."""
        rng = self._rng
        house = self.house(template)
        mix = _CIVIC_MIX if house is not None else _GEODETIC_MIX
        kinds = [kind for kind, _ in mix] + ["text"]
        kind = rng.choices(kinds, [weight for _, weight in mix] + [_TEXT_WEIGHT])[0]
        lat, lon = (house.lat, house.lon) if house is not None else (template.lat, template.lon)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if kind in ("voip", "wireline"):
            assert house is not None
            method = "Manual" if kind == "voip" else "Wiremap"
            location = CallerLocation(
                kind="civic", civic=house.civic(), method=method, timestamp=stamp
            )
        elif kind == "ellipse":
            location = _ellipse(rng, lat, lon, stamp)
        else:
            gps = kind == "wireless" and rng.random() < 0.6
            location = _circle(rng, lat, lon, stamp, gps=gps)
        service = "wireless" if kind == "ellipse" else kind
        call_id = uuid7()
        offer = CallOffer(
            call_id=call_id,
            ani=f"+1{rng.choice(('415', '628'))}55501{rng.randrange(100):02d}",
            class_of_service=service,
            caller_name=_caller_name(rng, service),
            locations=[location],
            source="call simulator",
            sip_call_id=f"{call_id}@sim.invalid",
            emergency_call_id=f"urn:emergency:uid:callid:{call_id.replace('-', '')}:sim.invalid",
        )
        fate = rng.random()
        if fate < self.abandon_share:
            return PlannedCall(offer, hang_up_after=rng.uniform(3.0, 20.0))
        if fate < self.abandon_share + self.after_answer_share:
            return PlannedCall(offer, talk_for=rng.uniform(3.0, 15.0))
        return PlannedCall(offer)

    # --- running ---------------------------------------------------------------------------

    async def run(self, preload: int = 1) -> None:
        """Sign in, offer ``preload`` calls at once, then one call every ``interval`` seconds
        on average (exponential gaps), until cancelled."""
        self._runner = asyncio.current_task()
        self.service.start()
        unsubscribe = self.service.subscribe(self._on_change)
        try:
            while self.service.status.phase is not LinkPhase.LIVE:
                await asyncio.sleep(0.05)
            position = self._rng.randrange(len(self.calls))
            for n in itertools.count():
                self._offer(self.plan(self.calls[(position + n) % len(self.calls)]))
                if n + 1 >= preload:
                    await asyncio.sleep(self._rng.expovariate(1.0 / self.interval))
        finally:
            unsubscribe()
            await self._cancel_tasks()

    async def stop(self) -> None:
        """Stop offering calls, cancel every caller still waiting, stop the service."""
        await stop_runner(self._runner)
        await self._cancel_tasks()
        await stop_service(self.service)

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._answered.clear()

    def _offer(self, planned: PlannedCall) -> None:
        if not self._submit(planned.offer):
            return
        self.offered += 1
        call_id = planned.offer.call_id
        if planned.hang_up_after is not None:
            self._spawn(self._hang_up_ringing(call_id, planned.hang_up_after / self.speed))
        elif planned.talk_for is not None:
            self._answered[call_id] = asyncio.Event()
            self._spawn(self._hang_up_answered(call_id, planned.talk_for / self.speed))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hang_up_ringing(self, call_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._status(call_id) is CallStatus.RINGING:
            self._end(call_id, "caller hung up before answer")

    async def _hang_up_answered(self, call_id: str, talk: float) -> None:
        """Wait for the answer (at most ``ring_timeout``), talk, hang up if still on the line."""
        answered = self._answered[call_id]
        try:
            await asyncio.wait_for(answered.wait(), self.ring_timeout / self.speed)
        except TimeoutError:
            return  # rang too long: the call-takers decide
        finally:
            self._answered.pop(call_id, None)
        await asyncio.sleep(talk)
        if self._status(call_id) in (CallStatus.ANSWERED, CallStatus.LINKED):
            self._end(call_id, "caller disconnected")

    def _on_change(self, change: Change) -> None:
        """Wake the callers whose call is no longer ringing."""
        for call_id in (
            list(self._answered) if change.reset else change.calls & self._answered.keys()
        ):
            if self._status(call_id) not in (None, CallStatus.RINGING):
                self._answered[call_id].set()

    def _status(self, call_id: str) -> CallStatus | None:
        call = self.service.state.view.calls.get(call_id)
        return None if call is None else call.status

    def _end(self, call_id: str, reason: str) -> None:
        if self._submit(CallEnd(call_id=call_id, reason=reason)):
            self.ended += 1

    def _submit(self, args: CommandArgs) -> bool:
        try:
            self.service.submit(args)
        except CommandRefused as exc:
            log.debug("call simulator skipped %s: %s", type(args).__name__, exc.message)
            return False
        except LocalStorageError:
            log.exception("call simulator could not queue a command")
            return False
        return True


# --- shapes ------------------------------------------------------------------------------------


def _displaced(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m``/``north_m`` metres from (``lat``, ``lon``), to 6 decimals."""
    dlat = north_m / _METRES_PER_DEGREE
    dlon = east_m / (_METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _in_disc(rng: random.Random) -> tuple[float, float]:
    """A point uniformly inside the unit disc."""
    r, theta = math.sqrt(rng.random()), rng.uniform(0.0, 2 * math.pi)
    return r * math.cos(theta), r * math.sin(theta)


def _circle(rng: random.Random, lat: float, lon: float, stamp: str, *, gps: bool) -> CallerLocation:
    radius = round(rng.uniform(10.0, 50.0) if gps else rng.uniform(100.0, 300.0), 1)
    x, y = _in_disc(rng)
    c_lat, c_lon = _displaced(lat, lon, -x * radius, -y * radius)  # the truth lies inside
    shape = Geodetic(
        shape="Circle",
        lat=c_lat,
        lon=c_lon,
        uncertainty_m=radius,
        radius_m=radius,
        confidence=rng.choice((90.0, 95.0)),
    )
    return CallerLocation(
        kind="geodetic", geodetic=shape, method="GPS" if gps else "Cell", timestamp=stamp
    )


def _ellipse(rng: random.Random, lat: float, lon: float, stamp: str) -> CallerLocation:
    major = round(rng.uniform(30.0, 300.0), 1)
    minor = round(major * rng.uniform(0.3, 0.9), 1)
    orientation = round(rng.uniform(0.0, 180.0), 1)  # degrees from north to the major axis
    a, b = _in_disc(rng)
    theta = math.radians(orientation)
    east = a * major * math.sin(theta) + b * minor * math.cos(theta)
    north = a * major * math.cos(theta) - b * minor * math.sin(theta)
    c_lat, c_lon = _displaced(lat, lon, -east, -north)
    shape = Geodetic(
        shape="Ellipse",
        lat=c_lat,
        lon=c_lon,
        uncertainty_m=major,
        semi_major_m=major,
        semi_minor_m=minor,
        orientation_deg=orientation,
        confidence=rng.choice((90.0, 95.0)),
    )
    return CallerLocation(kind="geodetic", geodetic=shape, method="Cell", timestamp=stamp)


def _caller_name(rng: random.Random, service: str) -> str:
    """What the carrier's database names the caller (fictional)."""
    if service in ("wireline", "voip"):
        return f"{rng.choice(_SURNAMES)} {rng.choice('ABCDEJKMRS')}"
    return "WIRELESS CALLER" if service == "wireless" else ""
