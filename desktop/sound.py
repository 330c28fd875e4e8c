"""The alert sound: a short two-tone chime, played without blocking and without Qt.

Why this way. ``QtMultimedia`` is not part of PySide6-Essentials, the wheel we ship, and adding
the full PySide6 (or FFmpeg-backed multimedia) for one chime would multiply the download. Python
sound packages are either unmaintained (``simpleaudio`` has had no release since 2019 and no
wheels for current Pythons) or pull in native libraries (``sounddevice`` needs PortAudio). The
lightest dependable way needs no new dependency at all, because each platform already has one:

- **Windows**: the standard library's ``winsound.PlaySound`` with ``SND_FILENAME | SND_ASYNC``
  (in process, returns at once; a new sound replaces the one playing).
- **macOS**: ``/usr/bin/afplay``, present on every macOS since 10.5.
- **Linux**: the first of ``paplay`` (PulseAudio, and PipeWire's pulse layer), ``pw-play``
  (PipeWire) and ``aplay`` (ALSA) found on ``PATH``; every desktop distribution ships one.

A player process is started with ``subprocess.Popen`` (output to ``DEVNULL``), so `AlertSound.play`
never waits for the sound; at most one player runs at a time, so a burst of alerts does not pile
up processes or noise. When nothing can play, `AlertSound.play` returns False and the UI falls back
to ``QApplication.beep()``; it never raises, since a missing sound must never break dispatch.

The tone is synthesised with the standard ``wave`` module (`write_alert_tone`), so the shipped
``resources/sounds/alert.wav`` can be regenerated and reviewed:
``python -m desktop.sound --write resources/sounds/alert.wav``.
"""

from __future__ import annotations

import argparse
import importlib
import math
import shutil
import struct
import subprocess
import sys
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.resources import resource_path

__all__ = [
    "LINUX_PLAYERS",
    "METRONOME_BEATS",
    "METRONOME_BPM",
    "SAMPLE_RATE",
    "AlertSound",
    "Player",
    "default_sound_path",
    "emergency_path",
    "metronome_path",
    "write_alert_tone",
    "write_emergency_tone",
    "write_metronome",
]

SAMPLE_RATE = 22050
#: Two tones, a falling major third (E5 then C5): noticeable, not a siren.
_TONES = ((659.25, 0.22), (523.25, 0.32))
_GAP = 0.05  # seconds of silence between the tones
_VOLUME = 0.45  # of full scale
_FADE = 0.015  # seconds of fade in and out of each tone, so no click

#: Linux players in order of preference, with their arguments before the file.
LINUX_PLAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("paplay", ()),
    ("pw-play", ()),
    ("aplay", ("-q",)),
)


def default_sound_path() -> Path:
    return resource_path("sounds", "alert.wav")


#: The metronome click track: one cycle of 30 compressions at 110 a minute.
METRONOME_BPM = 110
METRONOME_BEATS = 30
_METRONOME_RATE = 8000  # a click needs no more


def metronome_path() -> Path:
    return resource_path("sounds", "metronome.wav")


def write_metronome(
    path: str | Path, bpm: int = METRONOME_BPM, beats: int = METRONOME_BEATS
) -> Path:
    """Write the CPR metronome: ``beats`` short clicks (25 ms of 1.2 kHz, decaying) at ``bpm``,
    16-bit mono PCM at 8 kHz (one cycle of compressions: 16 s, about 260 KB at 110 a minute)."""
    period = int(_METRONOME_RATE * 60 / bpm)
    click = int(0.025 * _METRONOME_RATE)
    frames = bytearray()
    for _ in range(beats):
        for n in range(period):
            value = 0.0
            if n < click:
                value = math.sin(2 * math.pi * 1200 * n / _METRONOME_RATE) * (1 - n / click) ** 2
            frames += struct.pack("<h", round(32767 * _VOLUME * value))
    return _write_wav(path, bytes(frames), _METRONOME_RATE)


def emergency_path(loud: bool = False) -> Path:
    """The radio emergency alarm (``loud``: the escalated one)."""
    return resource_path("sounds", "emergency_loud.wav" if loud else "emergency.wav")


def write_emergency_tone(path: str | Path, *, loud: bool = False) -> Path:
    """Write the radio emergency alarm: a hi-lo warble (960/770 Hz, 0.25 s each, three times;
    1.5 s), unmistakable beside the alert chime, at 0.55 of full scale, or 0.95 when ``loud``
    (escalated: also a square-ish edge that carries across a floor)."""
    volume = 0.95 if loud else 0.55
    frames = bytearray()
    fade = int(_FADE * SAMPLE_RATE)
    for _ in range(3):
        for frequency in (960.0, 770.0):
            count = int(0.25 * SAMPLE_RATE)
            for n in range(count):
                envelope = min(1.0, n / fade, (count - 1 - n) / fade)
                t = n / SAMPLE_RATE
                value = 0.75 * math.sin(2 * math.pi * frequency * t)
                value += (0.25 if loud else 0.1) * math.sin(6 * math.pi * frequency * t)
                frames += struct.pack("<h", round(32767 * volume * envelope * value))
    return _write_wav(path, bytes(frames), SAMPLE_RATE)


def write_alert_tone(path: str | Path) -> Path:
    """Write the alert chime as a 16-bit mono PCM WAV (about 0.6 s, about 26 KB)."""
    frames = bytearray()
    fade = int(_FADE * SAMPLE_RATE)
    for index, (frequency, seconds) in enumerate(_TONES):
        count = int(seconds * SAMPLE_RATE)
        for n in range(count):
            envelope = min(1.0, n / fade, (count - 1 - n) / fade)
            # a little of the octave makes it a chime rather than a pure test tone
            t = n / SAMPLE_RATE
            value = 0.8 * math.sin(2 * math.pi * frequency * t) + 0.2 * math.sin(
                4 * math.pi * frequency * t
            )
            frames += struct.pack("<h", round(32767 * _VOLUME * envelope * value))
        if index + 1 < len(_TONES):
            frames += b"\x00\x00" * int(_GAP * SAMPLE_RATE)
    return _write_wav(path, bytes(frames), SAMPLE_RATE)


def _write_wav(path: str | Path, frames: bytes, rate: int) -> Path:
    """Write 16-bit mono PCM ``frames`` at ``rate`` as a WAV file (folders made as needed)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return target


@dataclass(frozen=True, slots=True)
class Player:
    """How this machine plays the sound: ``name`` (``winsound``, ``afplay``, ``paplay``...) and,
    for a player process, its command line (empty for ``winsound``, which plays in process)."""

    name: str
    argv: tuple[str, ...] = ()


class AlertSound:
    """Plays the alert sound on Windows, macOS and Linux without blocking.

    ``platform`` and ``which`` (default ``sys.platform`` and ``shutil.which``) are injectable so
    the choice can be tested on any machine; ``popen`` likewise starts the player process.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        platform: str = sys.platform,
        which: Callable[[str], str | None] = shutil.which,
        popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen,
    ) -> None:
        self.path = Path(path) if path is not None else default_sound_path()
        self.platform = platform
        self._which = which
        self._popen = popen
        self._process: subprocess.Popen[bytes] | None = None
        self._player: Player | None = None
        self._chosen = False

    def player_command(self) -> Player | None:
        """The player this machine uses (None: none found). Looked up once."""
        if not self._chosen:
            self._player = self._choose()
            self._chosen = True
        return self._player

    def _choose(self) -> Player | None:
        path = str(self.path)
        if self.platform == "win32":
            return Player("winsound")
        if self.platform == "darwin":
            candidates: Sequence[tuple[str, tuple[str, ...]]] = (("afplay", ()),)
        else:
            candidates = LINUX_PLAYERS
        for name, options in candidates:
            found = self._which(name)
            if found:
                return Player(name, (found, *options, path))
        return None

    @property
    def playing(self) -> bool:
        """A player process started by `play` is still running."""
        return self._process is not None and self._process.poll() is None

    def play(self) -> bool:
        """Start the sound and return at once. False when it cannot play (no player, no file,
        the player failed to start); never raises. While the previous sound still plays, nothing
        new is started (True: a sound is playing)."""
        try:
            if self.playing:
                return True
            self._process = None
            player = self.player_command()
            if player is None or not self.path.is_file():
                return False
            if not player.argv:
                return _play_winsound(self.path)
            self._process = self._popen(
                list(player.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
            return True
        except Exception:  # a sound must never break dispatch
            return False

    def __call__(self) -> bool:
        return self.play()


def _play_winsound(path: Path) -> bool:
    winsound = importlib.import_module("winsound")  # Windows only; typed loosely on purpose
    winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.sound", description=__doc__)
    parser.add_argument("--write", metavar="WAV", help="write the alert tone to this file")
    parser.add_argument("--write-metronome", metavar="WAV", help="write the CPR metronome")
    parser.add_argument("--write-emergency", metavar="DIR", help="write both emergency alarms")
    parser.add_argument("--play", action="store_true", help="play the alert sound once")
    args = parser.parse_args(argv)
    if args.write:
        print(write_alert_tone(args.write))
    if args.write_metronome:
        print(write_metronome(args.write_metronome))
    if args.write_emergency:
        print(write_emergency_tone(Path(args.write_emergency) / "emergency.wav"))
        print(write_emergency_tone(Path(args.write_emergency) / "emergency_loud.wav", loud=True))
    if args.play:
        sound = AlertSound(args.write)
        player = sound.player_command()
        print(f"player: {player.name if player else 'none'}")
        if not sound.play():
            return 1
        process = sound._process
        if process is not None:
            process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
