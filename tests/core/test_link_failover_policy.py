"""`Failover`: which server the link tries next and after which wait; `server_name`: how the
banner names a server. Pure arithmetic, no sockets (the link on real servers:
tests/integration/test_failover.py)."""

from __future__ import annotations

import random

import pytest

from desktop.link_policy import Backoff, Failover, server_name

BACKOFF = Backoff(base=1.0, factor=2.0, cap=30.0)


class Steps:
    """A `Backoff` stand-in that says which step each wait was."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def delay(self, attempt: int, rng: random.Random) -> float:
        self.steps.append(attempt)
        return 1.0 + attempt


def run(failover: Failover, ends: list[bool]) -> list[tuple[int, float]]:
    """(server tried next, wait before it) after each end (True: that connection was LIVE)."""
    rng = random.Random(1)
    moves = []
    for live in ends:
        delay = failover.ended(live, rng)
        moves.append((failover.index, delay))
    return moves


def test_a_failed_server_moves_to_the_next_at_once_and_the_round_ends_in_a_wait() -> None:
    steps = Steps()
    failover = Failover(3, steps)  # type: ignore[arg-type]
    assert failover.index == 0  # the first server first
    assert run(failover, [False, False, False]) == [(1, 0.0), (2, 0.0), (0, 2.0)]
    assert run(failover, [False, False, False]) == [(1, 0.0), (2, 0.0), (0, 3.0)]
    assert steps.steps == [1, 2]  # one step longer after each failed round


def test_after_live_the_loss_counts_as_the_first_failure_and_the_wait_starts_over() -> None:
    steps = Steps()
    failover = Failover(2, steps)  # type: ignore[arg-type]
    assert run(failover, [False, False]) == [(1, 0.0), (0, 2.0)]
    # LIVE on the first, lost: the second at once; it fails too: the shortest wait
    assert run(failover, [True, False]) == [(1, 0.0), (0, 1.0)]
    # LIVE on the first again, lost; LIVE on the second, lost: never a wait
    assert run(failover, [True, True, True]) == [(1, 0.0), (0, 0.0), (1, 0.0)]
    assert steps.steps == [1, 0]


def test_the_link_stays_on_the_server_that_works() -> None:
    failover = Failover(2, BACKOFF)
    run(failover, [False])  # the first is down: on the second
    assert failover.index == 1
    # nothing ends while the second works: no going back to the first


def test_one_server_is_the_plain_backoff_of_a_single_link() -> None:
    steps = Steps()
    failover = Failover(1, steps)  # type: ignore[arg-type]
    assert run(failover, [False, False]) == [(0, 2.0), (0, 3.0)]  # never LIVE: steps 1, 2
    assert run(failover, [True, False, False]) == [(0, 1.0), (0, 2.0), (0, 3.0)]  # 0, 1, 2
    failover.restart_count()  # new credentials: as after a first try
    assert run(failover, [False]) == [(0, 2.0)]


def test_waits_are_the_backoff_s_with_its_jitter() -> None:
    failover = Failover(2, BACKOFF)
    rng = random.Random(7)
    assert failover.ended(False, rng) == 0.0
    assert 1.0 <= failover.ended(False, rng) <= 2.0  # step 1: in [d/2, d], d = 2 s


def test_a_link_needs_a_server() -> None:
    with pytest.raises(ValueError, match="at least one server"):
        Failover(0, BACKOFF)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("wss://cad2.example.org:8765", "cad2.example.org:8765"),
        ("ws://127.0.0.1:9/", "127.0.0.1:9"),
        ("wss://cad", "cad"),
        ("ws://[::1]:8765", "[::1]:8765"),
        ("wss://user@cad:1", "cad:1"),
        ("not a url", "not a url"),
        ("ws://cad:99999", "ws://cad:99999"),
        ("", ""),
    ],
)
def test_a_server_is_named_by_host_and_port(url: str, name: str) -> None:
    assert server_name(url) == name
