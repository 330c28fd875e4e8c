"""`desktop.sound`: the alert tone is a short valid WAV, each platform gets its player, and
playing never blocks, never raises and never piles up player processes."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

from desktop.sound import AlertSound, Player, default_sound_path, write_alert_tone


def which_of(*present: str) -> Any:
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_the_tone_is_a_short_valid_wav(tmp_path: Path) -> None:
    path = write_alert_tone(tmp_path / "sub" / "alert.wav")
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        seconds = wav.getnframes() / wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    assert 0.3 <= seconds <= 1.5
    assert path.stat().st_size < 100_000
    samples = memoryview(frames).cast("h")
    peak = max(abs(s) for s in samples)
    assert 8000 < peak < 32767  # audible, not clipped
    assert abs(samples[0]) < 200 and abs(samples[-1]) < 200  # faded: no click


def test_the_shipped_tone_is_the_generated_one(tmp_path: Path) -> None:
    shipped = default_sound_path()
    assert shipped.is_file() and shipped.stat().st_size < 100_000
    assert write_alert_tone(tmp_path / "alert.wav").read_bytes() == shipped.read_bytes()
    assert (shipped.parent / "PROVENANCE.md").is_file()


@pytest.mark.parametrize(
    ("platform", "present", "expected"),
    [
        ("linux", ("paplay", "pw-play", "aplay"), ["/usr/bin/paplay"]),
        ("linux", ("pw-play", "aplay"), ["/usr/bin/pw-play"]),
        ("linux", ("aplay",), ["/usr/bin/aplay", "-q"]),
        ("freebsd14", ("aplay",), ["/usr/bin/aplay", "-q"]),
        ("darwin", ("afplay", "paplay"), ["/usr/bin/afplay"]),
    ],
)
def test_player_per_platform(
    tmp_path: Path, platform: str, present: tuple[str, ...], expected: list[str]
) -> None:
    path = tmp_path / "a.wav"
    player = AlertSound(path, platform=platform, which=which_of(*present)).player_command()
    assert player is not None
    assert list(player.argv) == [*expected, str(path)]
    assert player.name == Path(expected[0]).name


def test_windows_uses_winsound_in_process(tmp_path: Path) -> None:
    sound = AlertSound(tmp_path / "a.wav", platform="win32", which=which_of("paplay"))
    assert sound.player_command() == Player("winsound")


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_no_player_plays_nothing_and_says_so(tmp_path: Path, platform: str) -> None:
    path = write_alert_tone(tmp_path / "a.wav")
    started: list[object] = []
    sound = AlertSound(
        path, platform=platform, which=which_of(), popen=lambda *a, **k: started.append(a)
    )
    assert sound.player_command() is None
    assert sound.play() is False
    assert started == []


def test_play_never_raises(tmp_path: Path) -> None:
    def broken(*args: object, **kwargs: object) -> Any:
        raise OSError("exec format error")

    path = write_alert_tone(tmp_path / "a.wav")
    assert AlertSound(path, platform="linux", which=which_of("aplay"), popen=broken).play() is False
    missing = AlertSound(tmp_path / "missing.wav", platform="linux", which=which_of("aplay"))
    assert missing.play() is False

    def which_fails(name: str) -> str | None:
        raise PermissionError(name)

    assert AlertSound(path, platform="linux", which=which_fails).play() is False
    if sys.platform != "win32":  # winsound does not exist here: still False, no exception
        assert AlertSound(path, platform="win32").play() is False


class FakeProcess:
    def __init__(self, argv: list[str], **kwargs: object) -> None:
        self.argv = argv
        self.kwargs = kwargs
        self.done = False

    def poll(self) -> int | None:
        return 0 if self.done else None


def test_one_player_at_a_time_and_output_discarded(tmp_path: Path) -> None:
    path = write_alert_tone(tmp_path / "a.wav")
    started: list[FakeProcess] = []

    def popen(argv: list[str], **kwargs: object) -> FakeProcess:
        started.append(FakeProcess(argv, **kwargs))
        return started[-1]

    sound = AlertSound(path, platform="linux", which=which_of("paplay"), popen=popen)  # type: ignore[arg-type]
    assert sound.play() and sound.play() and sound()
    assert len(started) == 1  # still playing: no second process
    assert started[0].argv == ["/usr/bin/paplay", str(path)]
    for stream in ("stdin", "stdout", "stderr"):
        assert started[0].kwargs[stream] == subprocess.DEVNULL
    started[0].done = True
    assert sound.play()
    assert len(started) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX shell command")
def test_play_returns_at_once_with_a_real_process(tmp_path: Path) -> None:
    import time

    path = write_alert_tone(tmp_path / "a.wav")
    slow = tmp_path / "slowplayer"
    slow.write_text("#!/bin/sh\nsleep 2\n")
    slow.chmod(0o755)
    sound = AlertSound(path, platform="linux", which=lambda n: str(slow) if n == "aplay" else None)
    began = time.monotonic()
    assert sound.play()
    assert time.monotonic() - began < 0.5
    assert sound.playing
    assert sound.play()  # no pile-up while it runs
    process = sound._process
    assert process is not None
    process.kill()
    process.wait()
    assert not sound.playing
