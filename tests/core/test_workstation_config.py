"""`desktop.workstation_config`: where the file is on each platform, every key checked with the
file and the key named when it cannot be used, the example in docs/ loads, and the one rule of
layering (locked: the file; else the user's value; else the file's; else the default)."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path, PureWindowsPath

import pytest

from desktop.cards.library import default_dir as default_cards_dir
from desktop.sound import write_alert_tone
from desktop.workstation_config import (
    DEFAULT_SERVER,
    ENV_VAR,
    KEYS,
    WorkstationConfig,
    WorkstationConfigError,
    load,
    load_system,
    parse_server_list,
    split_servers,
    system_config_path,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "config.example.toml"
OPERATIONS = ROOT / "docs" / "operations.md"
CA_PEM = ROOT / "tests" / "data" / "workstation_config" / "ca.pem"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problem_of(path: Path) -> str:
    with pytest.raises(WorkstationConfigError) as caught:
        load(path)
    assert caught.value.path == path
    return str(caught.value)


# --- where the file is -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, "/etc/dispatch-desktop/config.toml"),
        ("freebsd14", {}, "/etc/dispatch-desktop/config.toml"),
        ("darwin", {}, "/Library/Application Support/dispatch-desktop/config.toml"),
    ],
)
def test_the_system_file_of_each_platform(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert system_config_path(platform, environ) == Path(expected)


def test_the_system_file_on_windows_is_under_programdata() -> None:
    path = system_config_path("win32", {"PROGRAMDATA": r"D:\ProgramData"})
    assert PureWindowsPath(path) == PureWindowsPath(r"D:\ProgramData\dispatch-desktop\config.toml")
    fallback = system_config_path("win32", {})
    assert PureWindowsPath(fallback) == PureWindowsPath(
        r"C:\ProgramData\dispatch-desktop\config.toml"
    )


def test_the_environment_variable_names_another_file(tmp_path: Path) -> None:
    named = tmp_path / "try.toml"
    for platform in ("linux", "win32", "darwin"):
        assert system_config_path(platform, {ENV_VAR: str(named)}) == named
    named.write_text('[workstation]\ntheme = "light"\n')
    config = load_system("linux", {ENV_VAR: str(named)})
    assert config.found and config.path == named and config.theme() == "light"


def test_a_missing_system_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load(tmp_path / "absent.toml")
    assert not config.found
    assert config.server() == DEFAULT_SERVER and config.servers == (DEFAULT_SERVER,)
    assert config.theme() == "dark" and config.font_scale() == 1.0
    assert config.locked == frozenset() and config.sound_enabled and config.sound_file is None
    assert config.ca_cert is None and config.layouts_file is None and config.default_layout is None
    assert config.values == WorkstationConfig.defaults(tmp_path).values


def test_a_file_named_by_the_environment_variable_must_exist(tmp_path: Path) -> None:
    named = tmp_path / "typo.toml"
    with pytest.raises(WorkstationConfigError) as caught:
        load_system("linux", {ENV_VAR: str(named)})
    assert str(caught.value) == f"{named}: does not exist (named by {ENV_VAR})"


def test_an_unreadable_file_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[workstation]\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert problem_of(path) == f"{path}: cannot be read (Permission denied)"
    monkeypatch.undo()
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    assert problem_of(folder).startswith(f"{folder}: cannot be read (")


# --- the example in docs/ and the documentation ----------------------------------------------


def deploy_example(folder: Path) -> Path:
    """The example with the files it names beside it, as IT would deploy it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, folder / "config.toml")
    shutil.copy(CA_PEM, folder / "ca.pem")
    write_alert_tone(folder / "alert.wav")
    (folder / "layouts.json").write_text('{"format": 1, "setups": {}}')
    shutil.copytree(default_cards_dir(), folder / "cards")
    return folder / "config.toml"


def test_the_example_in_docs_loads_and_sets_every_key(tmp_path: Path) -> None:
    path = deploy_example(tmp_path / "etc")
    config = load(path)
    assert config.found and config.set_in_file == frozenset(KEYS)
    assert config.servers == ("wss://cad1.example.org:8765", "wss://cad2.example.org:8765")
    assert config.server() == "wss://cad1.example.org:8765"
    assert config.ca_cert == tmp_path / "etc" / "ca.pem"  # relative to the file's folder
    assert config.layouts_file == tmp_path / "etc" / "layouts.json"
    assert config.default_layout == "Floor"
    assert config.sound_file == tmp_path / "etc" / "alert.wav"
    assert config.cards_dir == tmp_path / "etc" / "cards"
    assert config.locked == {"servers.urls", "workstation.theme"}
    summary = config.summary()
    assert len(summary) == len(KEYS)
    assert (
        'servers.urls = ["wss://cad1.example.org:8765", "wss://cad2.example.org:8765"]'
        in (summary[0])
    )
    assert summary[0].endswith("(from the file, locked)")


def test_the_operations_guide_documents_every_key() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("## Workstation configuration") :]
    for key in KEYS:
        assert f"`{key}`" in section, key
    assert ENV_VAR in section and "--check-config" in section
    for lockable in (k.name for k in KEYS.values() if k.user_setting is not None):
        assert lockable in section.split("**Layering.**")[0].split("`locked.keys`")[1]


# --- every problem names the file and the key ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'servers = {urls = ["wss://cad1:8765", "http://x"]}',
            'servers.urls[1]: "http://x" is not a ws:// or wss:// URL',
        ),
        ("[servers]\nurls = []", "servers.urls: must be a non-empty list of ws:// or wss:// URLs"),
        ('[servers]\nurls = "wss://cad1:8765"', "servers.urls: must be a non-empty list"),
        (
            '[servers]\nurls = ["wss://a:1", "wss://a:1"]',
            'servers.urls[1]: "wss://a:1" is listed twice',
        ),
        ('[servers]\nurls = ["wss://a:99999"]', 'servers.urls[0]: "wss://a:99999" is not a ws://'),
        ('[servers]\nurls = ["wss://:8765"]', 'servers.urls[0]: "wss://:8765" is not a ws://'),
        ('[servers]\nca_cert = "nope.pem"', "servers.ca_cert: {dir}/nope.pem does not exist"),
        ('[servers]\nca_cert = ""', "servers.ca_cert: must be the path of a PEM certificate file"),
        (
            '[servers]\nca_cert = "config.toml"',
            "servers.ca_cert: {dir}/config.toml is not a PEM certificate file",
        ),
        (
            '[workstation]\ntheme = "purple"',
            'workstation.theme: "purple" is not a theme (one of: dark, light, high-contrast)',
        ),
        ("[workstation]\nfont_scale = 3", "workstation.font_scale: 3 is not a number from 0.8"),
        ("[workstation]\nfont_scale = true", "workstation.font_scale: True is not a number"),
        ('[workstation]\nfont_scale = "1.2"', 'workstation.font_scale: "1.2" is not a number'),
        (
            '[workstation]\ndefault_layout = "Floor"',
            "workstation.default_layout: needs workstation.layouts_file too",
        ),
        (
            '[workstation]\nlayouts_file = "config.toml"',
            "workstation.layouts_file: needs workstation.default_layout too",
        ),
        (
            '[workstation]\nlayouts_file = "gone.json"\ndefault_layout = "Floor"',
            "workstation.layouts_file: {dir}/gone.json does not exist",
        ),
        ('[workstation]\ndefault_layout = " "', "workstation.default_layout: must be the name"),
        ('[sound]\nenabled = "yes"', 'sound.enabled: must be true or false, not "yes"'),
        ('[sound]\nfile = "config.toml"', "sound.file: {dir}/config.toml is not a PCM WAV file"),
        ('[sound]\nfile = "."', "sound.file: {dir} is a folder, not a WAV file"),
        (
            '[calltaking]\ncards_dir = "."',
            "calltaking.cards_dir: {dir} is not a protocol card folder (no set.json in it)",
        ),
        ('[locked]\nkeys = "workstation.theme"', "locked.keys: must be a list of key names"),
        (
            '[locked]\nkeys = ["workstation.them"]',
            'locked.keys[0]: "workstation.them" is not a key (did you mean workstation.theme?)',
        ),
        (
            '[locked]\nkeys = ["workstation.theme", "sound.enabled"]',
            'locked.keys[1]: "sound.enabled" cannot be locked: no user can change it',
        ),
        ('[servers]\nurl = ["wss://a:1"]', "servers.url: unknown key (did you mean servers.urls?)"),
        (
            '[server]\nurls = ["wss://a:1"]',
            "server: unknown table [server] (did you mean servers?)",
        ),
        ('theme = "dark"', "theme: unknown table [theme]"),
        ('workstation = "dark"', 'workstation: must be a table [workstation], not "dark"'),
    ],
)
def test_each_problem_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text + "\n")
    said = problem_of(path)
    assert said.startswith(f"{path}: "), said
    assert expected.format(dir=tmp_path) in said, said


def test_every_problem_is_reported_one_line_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[servers]\nurls = ["ftp://x"]\n[workstation]\ntheme = "blue"\n[sound]\nenable = true\n',
    )
    with pytest.raises(WorkstationConfigError) as caught:
        load(path)
    assert [p.key for p in caught.value.problems] == [
        "servers.urls[0]",
        "workstation.theme",
        "sound.enable",
    ]
    assert all(line.startswith(f"{path}: ") for line in str(caught.value).splitlines())
    assert len(str(caught.value).splitlines()) == 3


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[workstation]\ntheme = "dark"\nfont_scale 1.2\n')
    assert problem_of(path) == (
        f"{path}: line 3, column 12: not valid TOML: Expected '=' after a key in a key/value pair"
    )
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[workstation]\n# café\n".encode("latin-1"))
    assert problem_of(latin1) == f"{latin1}: line 2: is not UTF-8 text"


def test_values_the_file_may_hold(tmp_path: Path) -> None:
    write_alert_tone(tmp_path / "sounds" / "chime.wav")
    shutil.copy(CA_PEM, tmp_path / "ca.pem")
    path = write(
        tmp_path,
        f"""
[servers]
urls = ["ws://10.0.0.5:8765", "wss://cad.example.org"]
ca_cert = "{tmp_path / "ca.pem"}"
[workstation]
theme = "high-contrast"
font_scale = 2
[sound]
enabled = false
file = "sounds/chime.wav"
""",
    )
    config = load(path)
    assert config.servers == ("ws://10.0.0.5:8765", "wss://cad.example.org")
    assert config.ca_cert == tmp_path / "ca.pem"
    assert config.theme() == "high-contrast"
    assert config.font_scale() == 2.0 and isinstance(config.font_scale(), float)
    assert not config.sound_enabled and config.sound_file == tmp_path / "sounds" / "chime.wav"
    assert config.set_in_file == {
        "servers.urls",
        "servers.ca_cert",
        "workstation.theme",
        "workstation.font_scale",
        "sound.enabled",
        "sound.file",
    }
    assert config.source("workstation.layouts_file") == "default"


# --- layering: the one rule --------------------------------------------------------------------


@pytest.fixture
def centre(tmp_path: Path) -> WorkstationConfig:
    return load(
        write(
            tmp_path,
            '[servers]\nurls = ["wss://cad1:8765", "wss://cad2:8765"]\n'
            '[workstation]\ntheme = "light"\n[locked]\nkeys = ["workstation.font_scale"]\n',
        )
    )


def test_the_user_comes_before_the_file_and_the_file_before_the_default(
    centre: WorkstationConfig,
) -> None:
    # the command line, then the user's setting, then the file
    assert centre.theme("high-contrast", "dark") == "high-contrast"
    assert centre.theme(None, "dark") == "dark"
    assert centre.theme(None, None) == "light" and centre.source("workstation.theme") == "file"
    assert centre.source("workstation.theme", None, "dark") == "user"
    # what cannot be used is passed over, never an error (a user's old or edited settings)
    assert centre.theme(None, "purple") == "light"
    assert centre.theme("", "") == "light"
    # not in the file: the built-in default
    unset = WorkstationConfig.defaults(centre.path)
    assert unset.theme(None, None) == "dark" and unset.source("workstation.theme") == "default"


def test_a_locked_key_has_the_file_s_value_whatever_the_user_says(
    centre: WorkstationConfig,
) -> None:
    assert centre.is_locked("workstation.font_scale")
    assert not centre.is_locked("workstation.theme")
    # locked to the default (the file does not set it)
    assert centre.font_scale(1.7) == 1.0
    assert centre.source("workstation.font_scale", 1.7) == "locked"
    path = centre.path
    assert centre.locked_words("workstation.font_scale") == (
        f"Set by your centre's IT staff ({path})"
    )
    assert centre.refused_option("--theme", "workstation.theme", "dark") is None
    assert centre.refused_option("--font", "workstation.font_scale", None) is None
    assert centre.refused_option("--font", "workstation.font_scale", 1.5) == (
        f"--font 1.5: workstation.font_scale is locked. Set by your centre's IT staff ({path})."
    )


def test_a_user_s_text_size_is_read_and_kept_in_range(tmp_path: Path) -> None:
    config = WorkstationConfig.defaults(tmp_path / "c.toml")
    assert config.font_scale("1.3") == 1.3  # QSettings' ini gives text
    assert config.font_scale(9) == 2.0 and config.font_scale(0.1) == 0.8
    assert config.font_scale("nan") == 1.0 and config.font_scale("big") == 1.0


def test_the_server_chosen_by_the_user_comes_first(centre: WorkstationConfig) -> None:
    assert centre.server() == "wss://cad1:8765"
    assert centre.server_list(None, "wss://cad2:8765") == ("wss://cad2:8765", "wss://cad1:8765")
    # a server that is not the centre's stands alone: no failover to production from a test one
    assert centre.server_list("ws://test:8765") == ("ws://test:8765",)
    assert centre.server(" ws://test:8765 ") == "ws://test:8765"


def test_a_list_of_servers_from_the_user_comes_first_in_its_order(
    centre: WorkstationConfig,
) -> None:
    # --server a,b (a comma list) or a sequence; the file's others follow the user's when the
    # first is one of the file's servers (the same centre), not otherwise
    assert centre.server_list("wss://cad2:8765, wss://cad1:8765") == (
        "wss://cad2:8765",
        "wss://cad1:8765",
    )
    assert centre.server_list(("wss://cad2:8765", "ws://spare:8765")) == (
        "wss://cad2:8765",
        "ws://spare:8765",
        "wss://cad1:8765",
    )
    assert centre.server_list("ws://test:8765,wss://cad1:8765") == (
        "ws://test:8765",
        "wss://cad1:8765",
    )
    assert centre.server_list(" , ", "wss://cad2:8765") == ("wss://cad2:8765", "wss://cad1:8765")
    assert split_servers("ws://a:1,,ws://b:2, ws://a:1") == ("ws://a:1", "ws://b:2")
    assert split_servers(None) == ()


def test_the_command_line_s_server_list_is_checked() -> None:
    assert parse_server_list("wss://cad1:8765,wss://cad2:8765") == (
        "wss://cad1:8765",
        "wss://cad2:8765",
    )
    with pytest.raises(ValueError, match='"http://cad2" is not a ws:// or wss:// URL'):
        parse_server_list("wss://cad1:8765,http://cad2")
    with pytest.raises(ValueError, match="give a ws:// or wss:// URL"):
        parse_server_list(" , ")


def test_locked_servers_ignore_the_user_and_the_command_line(tmp_path: Path) -> None:
    config = load(
        write(tmp_path, '[servers]\nurls = ["wss://cad1:8765"]\n[locked]\nkeys = ["servers.urls"]')
    )
    assert config.server("ws://elsewhere:1", "ws://saved:2") == "wss://cad1:8765"
    assert config.refused_option("--server", "servers.urls", "ws://elsewhere:1") is not None


def test_keys_no_user_can_set_always_have_the_file_s_value(centre: WorkstationConfig) -> None:
    assert centre.effective("sound.enabled", False) is True
    assert centre.effective("servers.ca_cert", "/tmp/x.pem") is None


# --- TLS -------------------------------------------------------------------------------------


def test_the_ca_is_used_for_wss_servers_only(tmp_path: Path) -> None:
    shutil.copy(CA_PEM, tmp_path / "ca.pem")
    config = load(write(tmp_path, '[servers]\nca_cert = "ca.pem"\n'))
    assert config.ssl_context("ws://cad1:8765") is None
    context = config.ssl_context("wss://cad1:8765")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    (authority,) = context.get_ca_certs()  # only the centre's CA, not the system's
    assert "dispatch-desktop test CA" in str(authority["subject"])
    assert WorkstationConfig.defaults(tmp_path).ssl_context("wss://cad1:8765") is None


def test_a_pem_that_holds_no_usable_certificate_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "ca.pem"
    fake.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    said = problem_of(write(tmp_path, '[servers]\nca_cert = "ca.pem"\n'))
    assert said.startswith(f"{tmp_path / 'config.toml'}: servers.ca_cert: {fake} does not hold")


def test_the_duplicate_call_rule_comes_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert load(path).duplicate_rule.radius_m == 150.0  # absent: the defaults
    path.write_text("[calltaking]\nduplicate_radius_m = 250\nduplicate_window_min = 45\n")
    rule = load(path).duplicate_rule
    assert (rule.radius_m, rule.window_s) == (250.0, 45 * 60.0)
    path.write_text("[calltaking]\nduplicate_radius_m = 5\n")
    with pytest.raises(WorkstationConfigError, match=r"duplicate_radius_m.*from 10 to 2000"):
        load(path)
