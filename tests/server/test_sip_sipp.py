"""The SIP intake against Debian's SIPp (package ``sip-tester``) running scenarios of
tests/data/sipp/ (the Texas A&M NG911 suite's INVITEs; PROVENANCE.md there), with a call-taker
signed in to the real server on loopback.

Without ``sipp`` these tests are skipped, or fail when the environment variable ``CI`` is set
(scripts/bootstrap installs it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sipkit import SCENARIOS, event_of

from server.app import DispatchServer
from server.sip import SipIntake
from tests.support.rawclient import RawClient

#: Starts SIPp on a scenario against the intake: ``process = await run(scenario)``.
SippRunner = Callable[[Path], Awaitable["asyncio.subprocess.Process"]]


@pytest.fixture
def sipp() -> str:
    path = shutil.which("sipp")
    if path is not None:
        return path
    if os.environ.get("CI"):
        pytest.fail("sipp is missing: apt-get install sip-tester (scripts/bootstrap does)")
    pytest.skip("sipp is not installed (apt-get install sip-tester)")


@pytest.fixture
async def intake(server: DispatchServer) -> AsyncIterator[SipIntake]:
    sip = SipIntake(server.processor, "127.0.0.1", 0)
    await sip.start()
    yield sip
    await sip.stop()


@pytest.fixture
async def run_sipp(sipp: str, intake: SipIntake, tmp_path: Path) -> AsyncIterator[SippRunner]:
    """Start SIPp for one call of a scenario against the intake (killed if still running at
    the end); its messages are kept in ``tmp_path/messages.log``."""
    started: list[asyncio.subprocess.Process] = []

    async def run(scenario: Path) -> asyncio.subprocess.Process:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            local_port = probe.getsockname()[1]
        with (tmp_path / "sipp.out").open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sipp,
                "-sf",
                str(scenario),
                f"127.0.0.1:{intake.port}",
                "-m",
                "1",
                "-i",
                "127.0.0.1",
                "-p",
                str(local_port),
                "-nostdin",
                "-timeout",
                "9s",
                "-timeout_error",
                "-trace_msg",
                "-message_file",
                str(tmp_path / "messages.log"),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=tmp_path,
            )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def finished(process: asyncio.subprocess.Process, tmp_path: Path) -> None:
    """Wait for SIPp; assert it succeeded (its messages in the failure's message)."""
    code = await asyncio.wait_for(process.wait(), 12)
    log = tmp_path / "messages.log"
    assert code == 0, log.read_text(errors="replace")[-4000:] if log.exists() else code


async def test_an_answered_call_ends_with_the_callers_bye(
    server: DispatchServer, run_sipp: SippRunner, tmp_path: Path
) -> None:
    carl = await RawClient.login(server.url, "carl")
    process = await run_sipp(
        SCENARIOS / "answered_SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS.xml"
    )
    call = (await event_of(carl, "call.offered"))["call"]
    assert (call["ani"], call["class_of_service"]) == ("+12025551212", "wireline")
    assert call["locations"][0]["geodetic"]["lat"] == 40.71668300756087
    assert (await carl.command("call.answer", {"call_id": call["id"]})).ok
    ended = await event_of(carl, "call.abandoned", timeout=8)
    assert ended == {"call_id": call["id"], "answered": True, "reason": "caller hung up"}
    await finished(process, tmp_path)
    messages = (tmp_path / "messages.log").read_text()
    assert "SIP/2.0 180 Ringing" in messages and "a=inactive" in messages
    await carl.close()


async def test_a_call_cancelled_while_ringing(
    server: DispatchServer, run_sipp: SippRunner, tmp_path: Path
) -> None:
    carl = await RawClient.login(server.url, "carl")
    process = await run_sipp(SCENARIOS / "ours_cancel_before_answer.xml")
    call = (await event_of(carl, "call.offered"))["call"]
    assert call["locations"] == [{"kind": "reference", "reference": "https://127.0.0.1/location"}]
    ended = await event_of(carl, "call.abandoned")
    assert ended == {"call_id": call["id"], "reason": "cancelled before answer"}
    await finished(process, tmp_path)
    assert "SIP/2.0 487 Request Terminated" in (tmp_path / "messages.log").read_text()
    await carl.close()


async def test_a_call_released_by_the_call_taker(
    server: DispatchServer, run_sipp: SippRunner, tmp_path: Path
) -> None:
    carl = await RawClient.login(server.url, "carl")
    process = await run_sipp(SCENARIOS / "released_SIP_INVITE_location_PIDF-LO.xml")
    call = (await event_of(carl, "call.offered"))["call"]
    assert (await carl.command("call.answer", {"call_id": call["id"]})).ok
    assert (await carl.command("call.release", {"call_id": call["id"]})).ok
    await finished(process, tmp_path)  # SIPp got the BYE and answered it
    assert "BYE sip:+12025551212@127.0.0.1" in (tmp_path / "messages.log").read_text()
    await carl.close()
