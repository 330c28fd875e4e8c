"""Error codes are for machines; what a dispatcher reads is `error_words` (#10.8)."""

from __future__ import annotations

from desktop.protocol.errors import ErrorCode, error_words


def test_every_code_has_words_without_underscores() -> None:
    for code in ErrorCode:
        words = error_words(code.value)
        assert words and "_" not in words and words != code.value, code


def test_a_code_this_version_does_not_know_is_still_readable() -> None:
    assert error_words("radio_channel_busy") == "radio channel busy"


def test_the_words_of_the_codes_dispatchers_met() -> None:
    assert error_words("unit_unavailable") == "unit not available"
    assert error_words("auth_failed") == "user name or password not accepted"
