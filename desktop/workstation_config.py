"""The workstation configuration IT deploys: one system-wide TOML file, read once at start-up.

Where it is (`system_config_path`): ``/etc/dispatch-desktop/config.toml`` on Linux,
``%PROGRAMDATA%\\dispatch-desktop\\config.toml`` on Windows, ``/Library/Application
Support/dispatch-desktop/config.toml`` on macOS; the environment variable
``DISPATCH_DESKTOP_CONFIG`` names another file instead (to test a file before deploying it).
platformdirs' ``site_config_dir`` is not used: on Linux it gives ``/etc/xdg/...``, which is for
desktop defaults, not for what IT administers.

The keys, their types, allowed values and defaults are declared once, in `KEYS`
(``docs/operations.md``, "Workstation configuration", says what each means). `load` reads a
file into a `WorkstationConfig` or raises `WorkstationConfigError`, whose message names the
file and each key at fault (with the line, for TOML syntax errors). Unknown tables and keys are
errors: a typo in a locked key must not silently unlock it. A missing file is no error (every
key has its default) unless ``DISPATCH_DESKTOP_CONFIG`` named it; an unreadable one is.

The one rule of layering (`WorkstationConfig.effective`): a key IT has locked has the file's
value; otherwise the first usable value the user gave (the command line, then the user's own
settings), else the file's value, else the built-in default. Only keys a user can set
(`Key.user_setting`) can be locked.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import ssl
import sys
import tomllib
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from desktop.calltaking.place import DuplicateRule
from desktop.geo.nearby import DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_S

__all__ = [
    "DEFAULT_SERVER",
    "ENV_VAR",
    "FONT_SCALE_RANGE",
    "KEYS",
    "THEME_NAMES",
    "Key",
    "Problem",
    "WorkstationConfig",
    "WorkstationConfigError",
    "load",
    "load_system",
    "parse_server_list",
    "split_servers",
    "system_config_path",
]

ENV_VAR = "DISPATCH_DESKTOP_CONFIG"
APP_DIR = "dispatch-desktop"
FILE_NAME = "config.toml"
#: The themes a workstation has (``ui.theme.THEMES`` paints them; a test keeps the two equal).
THEME_NAMES = ("dark", "light", "high-contrast")
#: The server signed in to when neither IT nor the user named one.
DEFAULT_SERVER = "ws://127.0.0.1:8765"
#: Text size as a factor of the normal size (``ui.theme.scale_font`` clamps to the same).
FONT_SCALE_RANGE = (0.8, 2.0)
_LOCKED_KEYS = "locked.keys"


def system_config_path(
    platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> Path:
    """The system file of this platform, or the one ``DISPATCH_DESKTOP_CONFIG`` names."""
    named = environ.get(ENV_VAR, "")
    if named:
        return Path(named)
    if platform == "win32":
        return Path(environ.get("PROGRAMDATA") or r"C:\ProgramData", APP_DIR, FILE_NAME)
    if platform == "darwin":
        return Path("/Library/Application Support", APP_DIR, FILE_NAME)
    return Path("/etc", APP_DIR, FILE_NAME)


class Problem(NamedTuple):
    """One thing wrong with a file: the key (``servers.urls[1]``; None for the whole file),
    what is wrong, and where (``line 3, column 5``) when TOML's parser says."""

    key: str | None
    message: str
    position: str | None = None


class WorkstationConfigError(ValueError):
    """The file cannot be used. One line per problem: ``<file>: <key>: <what is wrong>``."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = []
        for problem in self.problems:
            where = [str(path)]
            if problem.position is not None:
                where.append(problem.position)
            if problem.key is not None:
                where.append(problem.key)
            lines.append(": ".join([*where, problem.message]))
        super().__init__("\n".join(lines))


class _Invalid(Exception):
    """Raised by a key's check; ``index`` names the item of a list at fault."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index


# --- checks of the values in the file: each returns the value as the config holds it ------------


def _text(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _is_ws_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("ws", "wss") and bool(parts.hostname)


def _server_urls(value: object, base: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"must be a non-empty list of ws:// or wss:// URLs, not {_text(value)}")
    seen: set[str] = set()
    for index, url in enumerate(value):
        if not _is_ws_url(url):
            raise _Invalid(f"{_text(url)} is not a ws:// or wss:// URL", index)
        if url in seen:
            raise _Invalid(f"{_text(url)} is listed twice", index)
        seen.add(url)
    return tuple(value)


def _readable_file(value: object, base: Path, what: str) -> Path:
    """A path (relative ones are relative to the configuration file's folder) of a file that
    exists and can be read."""
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be the path of {what}, not {_text(value)}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise _Invalid(f"{path} does not exist") from None
    except IsADirectoryError:
        raise _Invalid(f"{path} is a folder, not {what}") from None
    except OSError as exc:
        raise _Invalid(f"{path} cannot be read ({exc.strerror or exc})") from None
    return path


def _ca_cert(value: object, base: Path) -> Path:
    path = _readable_file(value, base, "a PEM certificate file")
    if b"-----BEGIN CERTIFICATE-----" not in path.read_bytes():
        raise _Invalid(f"{path} is not a PEM certificate file (no BEGIN CERTIFICATE line)")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise _Invalid(f"{path} does not hold a usable CA certificate ({exc})") from None
    return path


def _theme(value: object, base: Path) -> str:
    if value not in THEME_NAMES:
        raise _Invalid(f"{_text(value)} is not a theme (one of: {', '.join(THEME_NAMES)})")
    assert isinstance(value, str)
    return value


def _font_scale(value: object, base: Path) -> float:
    low, high = FONT_SCALE_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _Invalid(f"{_text(value)} is not a number from {low} to {high}")
    return float(value)


def _layout_name(value: object, base: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be the name of a layout, not {_text(value)}")
    return value.strip()


def _cards_dir(value: object, base: Path) -> Path:
    """A folder holding a card set's ``set.json`` (its content is checked when it loads)."""
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be the path of a protocol card folder, not {_text(value)}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not (path / "set.json").is_file():
        raise _Invalid(f"{path} is not a protocol card folder (no set.json in it)")
    return path


def _layouts_file(value: object, base: Path) -> Path:
    return _readable_file(value, base, "a layouts file")


def _number_in(low: float, high: float) -> Callable[[object, Path], float]:
    """A check for a number from ``low`` to ``high``."""

    def check(value: object, base: Path) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise _Invalid(f"{_text(value)} is not a number from {low:g} to {high:g}")
        return float(value)

    return check


def _boolean(value: object, base: Path) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_text(value)}")
    return value


def _wav_file(value: object, base: Path) -> Path:
    path = _readable_file(value, base, "a WAV file")
    try:
        with wave.open(str(path), "rb") as sound:
            sound.getnframes()
    except (wave.Error, EOFError) as exc:
        raise _Invalid(f"{path} is not a PCM WAV file ({exc})") from None
    return path


def _locked_keys(value: object, base: Path) -> frozenset[str]:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of key names, not {_text(value)}")
    lockable = [k.name for k in KEYS.values() if k.user_setting is not None]
    for index, name in enumerate(value):
        if not isinstance(name, str):
            raise _Invalid(f"must be a key name, not {_text(name)}", index)
        if name in lockable:
            continue
        if name in KEYS:
            raise _Invalid(
                f"{_text(name)} cannot be locked: no user can change it "
                f"(lockable: {', '.join(lockable)})",
                index,
            )
        raise _Invalid(f"{_text(name)} is not a key{_did_you_mean(name, lockable)}", index)
    return frozenset(value)


# --- what a user gives (command line, own settings), in the form the config holds -------------


def split_servers(raw: object) -> tuple[str, ...]:
    """The servers a user gave, in order: a comma-separated list (``--server a,b``, or one
    URL) or a sequence of URLs; blanks and repeats dropped, nothing else checked."""
    if isinstance(raw, str):
        items: Sequence[object] = raw.split(",")
    elif isinstance(raw, list | tuple):
        items = raw
    else:
        return ()
    urls = (item.strip() for item in items if isinstance(item, str))
    return tuple(dict.fromkeys(url for url in urls if url))


def parse_server_list(text: str) -> tuple[str, ...]:
    """The servers of ``--server`` (`split_servers`), each checked to be a ws:// or wss:// URL.
    Raises ValueError saying which is not, or that none was given."""
    urls = split_servers(text)
    if not urls:
        raise ValueError("give a ws:// or wss:// URL, or several separated by commas")
    for url in urls:
        if not _is_ws_url(url):
            raise ValueError(f"{_text(url)} is not a ws:// or wss:// URL")
    return urls


def _user_server(raw: object, system: Any) -> tuple[str, ...] | None:
    """The servers the user chose come first, in their order; the file's others follow only
    when the first of them is one of the file's (failing over from a test server to the
    production list would be wrong)."""
    urls = split_servers(raw)
    if not urls:
        return None
    return (*urls, *(u for u in system if u not in urls)) if urls[0] in system else urls


def _user_theme(raw: object, system: Any) -> str | None:
    return raw if isinstance(raw, str) and raw in THEME_NAMES else None


def _user_font_scale(raw: object, system: Any) -> float | None:
    try:
        scale = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    low, high = FONT_SCALE_RANGE
    return min(high, max(low, scale)) if math.isfinite(scale) else None


@dataclass(frozen=True, slots=True)
class Key:
    """One key of the file: ``name`` (``table.key``), the built-in ``default`` (in the form the
    config holds), ``check`` (the file's value and the file's folder -> that form, or raises),
    and, for a key a user can also set, the name of the per-user setting (``user_setting``)
    and how a user's value is read (``from_user``: None when it cannot be used)."""

    name: str
    default: Any
    check: Callable[[object, Path], Any]
    user_setting: str | None = None
    from_user: Callable[[object, Any], Any] | None = None


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("servers.urls", (DEFAULT_SERVER,), _server_urls, "server", _user_server),
        Key("servers.ca_cert", None, _ca_cert),
        Key("workstation.theme", "dark", _theme, "theme", _user_theme),
        Key("workstation.font_scale", 1.0, _font_scale, "font_scale", _user_font_scale),
        Key("workstation.layouts_file", None, _layouts_file),
        Key("workstation.default_layout", None, _layout_name),
        Key("sound.enabled", True, _boolean),
        Key("sound.file", None, _wav_file),
        Key("calltaking.duplicate_radius_m", DUPLICATE_RADIUS_M, _number_in(10, 2000)),
        Key("calltaking.duplicate_window_min", DUPLICATE_WINDOW_S / 60, _number_in(1, 24 * 60)),
        Key("calltaking.cards_dir", None, _cards_dir),
        Key(_LOCKED_KEYS, frozenset(), _locked_keys),
    )
}
#: Keys that need each other: (key, the key it needs).
_NEEDS = (
    ("workstation.default_layout", "workstation.layouts_file"),
    ("workstation.layouts_file", "workstation.default_layout"),
)


def _did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _defaults() -> dict[str, Any]:
    return {k.name: k.default for k in KEYS.values()}


@dataclass(frozen=True)
class WorkstationConfig:
    """The system file's values, checked (`values`: every key, the file's value or the
    default), which keys the file set, and which IT locked. Immutable."""

    path: Path
    found: bool = False
    values: Mapping[str, Any] = field(default_factory=_defaults)
    set_in_file: frozenset[str] = frozenset()

    @classmethod
    def defaults(cls, path: Path | None = None) -> WorkstationConfig:
        """No file: every key has its built-in default, nothing is locked."""
        return cls(path if path is not None else system_config_path())

    # --- the rule ----------------------------------------------------------------------------

    @property
    def locked(self) -> frozenset[str]:
        locked: frozenset[str] = self.values[_LOCKED_KEYS]
        return locked

    def is_locked(self, key: str) -> bool:
        """IT has fixed ``key``: the user's values and command-line options do not apply."""
        return KEYS[key].name in self.locked

    def system(self, key: str) -> Any:
        """The value of ``key`` in the file, else its built-in default."""
        return self.values[KEYS[key].name]

    def effective(self, key: str, *given: object) -> Any:
        """The value ``key`` has on this workstation: locked, the file's value; otherwise the
        first of ``given`` (the user's values, most specific first: the command line, then the
        user's own setting; None or "" when not given) that can be used, else the file's value,
        else the default. Keys no user can set always have the file's value."""
        spec, system = KEYS[key], self.system(key)
        if spec.from_user is None or self.is_locked(key):
            return system
        for raw in given:
            if raw is None or raw == "":
                continue
            value = spec.from_user(raw, system)
            if value is not None:
                return value
        return system

    def source(self, key: str, *given: object) -> str:
        """Where `effective` takes ``key`` from: ``locked``, ``user``, ``file`` or ``default``."""
        if self.is_locked(key):
            return "locked"
        if self.effective(key, *given) != self.system(key):
            return "user"
        return "file" if key in self.set_in_file else "default"

    def locked_words(self, key: str) -> str:
        """What a control locked by IT says (tooltip, status line, refusal)."""
        return f"Set by your centre's IT staff ({self.path})"

    def refused_option(self, option: str, key: str, value: object) -> str | None:
        """Why the command-line ``option`` (its ``value``; None when not given) cannot be
        used: ``key`` is locked. None when it can."""
        if value is None or not self.is_locked(key):
            return None
        return f"{option} {value}: {key} is locked. {self.locked_words(key)}."

    # --- typed views -------------------------------------------------------------------------

    @property
    def servers(self) -> tuple[str, ...]:
        """The file's servers, in failover order (the first names the profile: `group_url`)."""
        servers: tuple[str, ...] = self.system("servers.urls")
        return servers

    def server_list(self, *given: object) -> tuple[str, ...]:
        """The workstation's servers in failover order, after layering (`effective`): the
        link tries the first, and moves to the next when one is down (`desktop.link`). Each
        of ``given`` is one URL, a comma-separated list or a sequence (`split_servers`)."""
        servers: tuple[str, ...] = self.effective("servers.urls", *given)
        return servers

    def server(self, *given: object) -> str:
        """The server this workstation signs in to (the sign-in dialog's default)."""
        return self.server_list(*given)[0]

    def theme(self, *given: object) -> str:
        theme: str = self.effective("workstation.theme", *given)
        return theme

    def font_scale(self, *given: object) -> float:
        scale: float = self.effective("workstation.font_scale", *given)
        return scale

    @property
    def ca_cert(self) -> Path | None:
        ca: Path | None = self.system("servers.ca_cert")
        return ca

    def ssl_context(self, url: str) -> ssl.SSLContext | None:
        """The TLS context for ``url``: with ``servers.ca_cert``, for a wss:// URL, one that
        trusts that CA only (certificates and host names verified); None otherwise (ws://
        needs none; wss:// without a CA file uses the system's trusted CAs)."""
        if self.ca_cert is None or not url.startswith("wss://"):
            return None
        return ssl.create_default_context(cafile=str(self.ca_cert))

    @property
    def layouts_file(self) -> Path | None:
        path: Path | None = self.system("workstation.layouts_file")
        return path

    @property
    def default_layout(self) -> str | None:
        name: str | None = self.system("workstation.default_layout")
        return name

    @property
    def duplicate_rule(self) -> DuplicateRule:
        """When a new call may duplicate an active incident (the Call-taking panel)."""
        return DuplicateRule(
            radius_m=float(self.system("calltaking.duplicate_radius_m")),
            window_s=float(self.system("calltaking.duplicate_window_min")) * 60,
        )

    @property
    def cards_dir(self) -> Path | None:
        """The centre's own protocol card set (None: the shipped one)."""
        path: Path | None = self.system("calltaking.cards_dir")
        return path

    @property
    def sound_enabled(self) -> bool:
        return bool(self.system("sound.enabled"))

    @property
    def sound_file(self) -> Path | None:
        """The alert sound IT chose; None: the shipped chime."""
        path: Path | None = self.system("sound.file")
        return path

    def summary(self) -> list[str]:
        """One line per key: its value and where it comes from (for ``--check-config``)."""
        lines = []
        for key in KEYS:
            value = self.system(key)
            if isinstance(value, tuple | frozenset):
                items = value if isinstance(value, tuple) else sorted(value)
                shown = "[" + ", ".join(f'"{v}"' for v in items) + "]"
            elif value is None:
                shown = "(not set)"
            elif isinstance(value, bool):
                shown = "true" if value else "false"
            elif isinstance(value, str | Path):
                shown = f'"{value}"'
            else:
                shown = str(value)
            where = "from the file" if key in self.set_in_file else "built-in default"
            locked = ", locked" if key in self.locked else ""
            lines.append(f"{key} = {shown}  ({where}{locked})")
        return lines


# --- reading -------------------------------------------------------------------------------------

_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load(path: str | Path, *, required: bool = False) -> WorkstationConfig:
    """Read and check the file at ``path``. A missing file gives the defaults, unless
    ``required``. Raises `WorkstationConfigError` naming the file and every key at fault."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise WorkstationConfigError(
                path, [Problem(None, f"does not exist (named by {ENV_VAR})")]
            ) from None
        return WorkstationConfig.defaults(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkstationConfigError(path, [Problem(None, f"cannot be read ({reason})")]) from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = Problem(None, "is not UTF-8 text", f"line {line}")
        raise WorkstationConfigError(path, [problem]) from None
    except tomllib.TOMLDecodeError as exc:
        message, position = str(exc), None
        if (found := _AT_LINE.search(message)) is not None:
            message = message[: found.start()]
            position = f"line {found.group(1)}, column {found.group(2)}"
        problem = Problem(None, f"not valid TOML: {message}", position)
        raise WorkstationConfigError(path, [problem]) from None
    return _check(path, document)


def load_system(
    platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> WorkstationConfig:
    """Read this workstation's file (`system_config_path`); one named by ``DISPATCH_DESKTOP_CONFIG``
    must exist."""
    return load(system_config_path(platform, environ), required=bool(environ.get(ENV_VAR)))


def _check(path: Path, document: dict[str, Any]) -> WorkstationConfig:
    problems: list[Problem] = []
    values = _defaults()
    set_in_file: set[str] = set()
    present: set[str] = set()  # in the file, valid or not
    tables = sorted({name.split(".")[0] for name in KEYS})
    base = path.parent
    for table, content in document.items():
        if table not in tables:
            said = f"unknown table [{table}]{_did_you_mean(table, tables)}"
            problems.append(Problem(table, f"{said} (known: {', '.join(tables)})"))
            continue
        if not isinstance(content, dict):
            problems.append(Problem(table, f"must be a table [{table}], not {_text(content)}"))
            continue
        known = [n.split(".", 1)[1] for n in KEYS if n.startswith(f"{table}.")]
        for name, value in content.items():
            key = f"{table}.{name}"
            if key not in KEYS:
                hint = _did_you_mean(key, [f"{table}.{k}" for k in known])
                said = f"unknown key{hint} ([{table}] has: {', '.join(known)})"
                problems.append(Problem(key, said))
                continue
            present.add(key)
            try:
                values[key] = KEYS[key].check(value, base)
                set_in_file.add(key)
            except _Invalid as exc:
                where = key if exc.index is None else f"{key}[{exc.index}]"
                problems.append(Problem(where, exc.message))
    for key, needed in _NEEDS:
        if key in set_in_file and needed not in present:
            problems.append(Problem(key, f"needs {needed} too"))
    if problems:
        raise WorkstationConfigError(path, problems)
    return WorkstationConfig(path, True, values, frozenset(set_in_file))
