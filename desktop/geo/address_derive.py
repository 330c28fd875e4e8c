"""Derive the address index (``resources/geo/addresses.npz``) from street data only.

Inputs (read by ``server/geocode_cli.py`` into :class:`StreetData` and named lines): DataSF's
"List of Streets and Intersections" (street blocks with the CNN node ids of both ends and
left/right house-number ranges, no coordinates), TIGER/Line roads (named line geometry, no
address ranges) and, optionally, SFMTA's traffic signals (coordinates of about 1,400
intersection CNNs). Never the calls for service: the benchmark grades the index against those.
This module matches the names (step 1), lays out the blocks (step 3) and writes the file; the
street data types and TIGER street graphs are ``desktop/geo/address_streets.py``'s, node
placement (step 2) is ``desktop/geo/address_nodes.py``'s.

1. **Names.** Each DataSF street is matched to TIGER names by :func:`street_key` ("03RD ST" ~
   "3rd St"), by its key without type (TIGER writes "Cesar Chavez" as well as "Cesar Chavez
   St": both count) or with Treasure Island's "TI" dropped ("13TH TI ST" ~ "13th St"). The
   rest may take a TIGER name no DataSF street spells: by a fuzzy match (ratio >= 0.85) whose
   lines meet one of the street's cross streets, or, for a renamed street, the name whose
   lines meet most of its cross streets (:func:`_recovered`).
2. **Nodes.** A node (CNN) is placed where the TIGER lines of two or more of its streets share
   a vertex or come within :data:`CLOSEST_M`, choosing among several places by its traffic
   signal or its placed neighbours, checked against both (:data:`IMPLAUSIBLE_M`,
   :data:`SIGNAL_DISAGREE_M`); the nodes left are spaced along their street's TIGER path, dead
   ends last (:func:`~desktop.geo.address_nodes.place_nodes`; the rules in full are in the
   docstring of ``desktop/geo/address_nodes.py``).
3. **Blocks.** A block's geometry is its street's TIGER path between its two end nodes (a
   shortest path over the street's own lines, each end snapped within :data:`SNAP_M`), or the
   straight line when there is none (or it is a detour). Blocks with an end not placed are left
   out (counted). Left and right are as DataSF gives them: relative to the direction of travel
   from ``FROM_CNN`` to ``TO_CNN``.

File format (version :data:`FORMAT_VERSION`, a compressed ``.npz`` written with fixed zip
timestamps and entry order, so the same input gives byte-identical bytes):

- ``version`` (int64), ``meta`` (JSON text: sources, sha256, counts);
- ``street_names`` (unicode, DataSF spelling, sorted);
- ``node_cnn`` (int64, sorted), ``node_lat``/``node_lon`` (int32, degrees x 1e6);
  ``node_street_ptr``/``node_street`` (int32 CSR: the streets meeting at each node);
- ``block_cnn`` (int64), ``block_street``, ``block_from``, ``block_to`` (int32; node indexes
  of ``FROM_CNN``/``TO_CNN``), ``block_ranges`` (int32, ``(n, 4)``: left from, left to, right
  from, right to; 0-0 where a side has no numbers), ``block_ptr`` (int32 CSR into the vertex
  arrays), ``vertex_lat``/``vertex_lon`` (int32, degrees x 1e6; each block's line from its
  ``FROM`` node to its ``TO`` node). Blocks sorted by street, lowest number, CNN;
- ``alias_names`` (unicode, TIGER's spellings, upper case) and ``alias_street`` (int32): other
  names of the streets, as step 1 matched them ("CESAR CHAVEZ", "PHELAN AVE", "9TH ST" for
  Treasure Island's "09TH TI ST").
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from desktop.geo.address_nodes import CLOSEST_M, IMPLAUSIBLE_M, SIGNAL_DISAGREE_M, place_nodes
from desktop.geo.address_parse import FuzzyNames, street_base, street_key
from desktop.geo.address_streets import SNAP_M, Block, StreetData, StreetGraph, Vertex, dist
from desktop.geo.npz_files import write_npz

__all__ = [
    "CLOSEST_M",
    "FORMAT_VERSION",
    "IMPLAUSIBLE_M",
    "SIGNAL_DISAGREE_M",
    "SNAP_M",
    "Block",
    "DerivedIndex",
    "StreetData",
    "Vertex",
    "derive_addresses",
    "write_index",
]

FORMAT_VERSION = 1
_FUZZY_CUTOFF = 0.85
_DETOUR = 2.5  # a path longer than this times the straight line (+ 100 m) is a detour


@dataclass
class DerivedIndex:
    """The arrays :func:`write_index` stores and the counts the provenance reports."""

    arrays: dict[str, npt.NDArray[Any]]
    report: dict[str, Any] = field(default_factory=dict)


# --- names ------------------------------------------------------------------------------------


def _aliases(names: Iterable[str], keys: set[str]) -> tuple[dict[str, list[str]], Counter[str]]:
    """DataSF name -> the TIGER keys that spell it (step 1 of the module docstring, before the
    fuzzy and renamed matches of :func:`_recovered`)."""
    by_base: defaultdict[str, list[str]] = defaultdict(list)
    for key in sorted(keys):
        by_base[street_base(key)].append(key)
    aliases: dict[str, list[str]] = {}
    how: Counter[str] = Counter()
    for name in sorted(names):
        key = street_key(name)
        found = [key] if key in keys else []
        found += [k for k in by_base.get(street_base(key), []) if k != key and k == street_base(k)]
        method = "exact" if key in keys else "without type" if found else ""
        if not found and " TI " in f" {key} ":
            plain = " ".join(w for w in key.split() if w != "TI")
            found = [plain] if plain in keys else []
            method = "Treasure Island" if found else ""
        if found:
            aliases[name] = found
            how[method] += 1
    return aliases, how


def _recovered(
    streets: StreetData, graphs: Mapping[str, StreetGraph], spare: Mapping[str, StreetGraph]
) -> tuple[dict[str, str], Counter[str]]:
    """TIGER names for the DataSF streets :func:`_aliases` left, among the names no DataSF
    street spells. A fuzzy match (ratio >= 0.85) must meet one of the street's cross streets.
    Otherwise a renamed street ("FRIDA KAHLO WAY" was "Phelan Ave" in 2017) takes the spare
    name whose lines meet the most of its cross streets: at least two, half of the street's,
    and half of those the TIGER name meets (a freeway meets everything). One street per name:
    the best, no tie."""
    crossing: defaultdict[str, set[int]] = defaultdict(set)  # street -> ids of crossing graphs
    for members in streets.node_streets.values():
        for name in members:
            crossing[name] |= {id(graphs[o]) for o in members if o != name and o in graphs}
    touching = {
        key: {id(g) for g in graphs.values() if g.vertices & graph.vertices}
        for key, graph in spare.items()
    }
    fuzzy = FuzzyNames(spare)
    claims: defaultdict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for name in sorted(n for n in streets.names if n not in graphs and crossing[n]):
        near = [k for k, _ in fuzzy.match(street_key(name), limit=3, cutoff=_FUZZY_CUTOFF)]
        spelt = [k for k in near if touching[k] & crossing[name]]
        if spelt:
            claims[spelt[0]].append((len(touching[spelt[0]] & crossing[name]), name, "fuzzy"))
            continue
        scores = sorted(((len(t & crossing[name]), k) for k, t in touching.items()), reverse=True)
        if not scores or (len(scores) > 1 and scores[1][0] == scores[0][0]):
            continue
        shared, key = scores[0]
        if shared >= max(2, len(crossing[name]) / 2, len(touching[key]) / 2):
            claims[key].append((shared, name, "renamed (meets the same streets)"))
    found: dict[str, str] = {}
    how: Counter[str] = Counter()
    for key, named in sorted(claims.items()):
        named.sort(reverse=True)
        if len(named) == 1 or named[1][0] < named[0][0]:
            found[named[0][1]] = key
            how[named[0][2]] += 1
    return found, how


# --- blocks and the file ----------------------------------------------------------------------


def _block_line(graph: StreetGraph | None, a: Vertex, b: Vertex) -> tuple[list[Vertex], bool]:
    """A block's line from ``a`` to ``b`` and whether it follows TIGER (step 3)."""
    if graph is not None:
        va, vb = graph.nearest(a, SNAP_M), graph.nearest(b, SNAP_M)
        path = graph.path(va, vb) if va is not None and vb is not None and va != vb else None
        if path is not None:
            length = sum(dist(p, q) for p, q in itertools.pairwise(path))
            if length <= _DETOUR * dist(a, b) + 100.0:
                line = [a, *path[1:-1], b] if len(path) > 2 else [a, b]
                return [v for i, v in enumerate(line) if i == 0 or v != line[i - 1]], True
    return [a, b], False


def derive_addresses(
    streets: StreetData,
    lines: list[tuple[str, tuple[Vertex, ...]]],
    signals: Mapping[int, Vertex] | None = None,
) -> DerivedIndex:
    """Build the index arrays (module docstring, steps 1-3) and the report's counts."""
    by_key: defaultdict[str, list[tuple[Vertex, ...]]] = defaultdict(list)
    spelling: dict[str, str] = {}  # TIGER key -> its first spelling, upper case
    for name, coords in lines:
        key = street_key(name)
        by_key[key].append(coords)
        spelling[key] = min(spelling.get(key, name.upper()), name.upper())
    aliases, how = _aliases(streets.names, set(by_key))
    drawn: dict[tuple[str, ...], StreetGraph] = {}  # one graph per set of TIGER names

    def graph_of(keys: list[str]) -> StreetGraph:
        if tuple(keys) not in drawn:
            drawn[tuple(keys)] = StreetGraph(c for key in keys for c in by_key[key])
        return drawn[tuple(keys)]

    graphs = {name: graph_of(keys) for name, keys in sorted(aliases.items())}
    used = {k for keys in aliases.values() for k in keys}
    spare = {k: graph_of([k]) for k in sorted(by_key) if k not in used}
    recovered, more = _recovered(streets, graphs, spare)
    for name, key in sorted(recovered.items()):
        aliases[name] = [key]
        graphs[name] = graph_of([key])
    how.update(more)
    how["none"] = len(streets.names) - len(aliases)
    placed, node_report = place_nodes(streets, graphs, dict(signals or {}))
    names = sorted(streets.names)
    street_id = {s: i for i, s in enumerate(names)}
    node_cnn = sorted(placed)
    node_id = {n: i for i, n in enumerate(node_cnn)}
    kept = sorted(
        (b for b in streets.blocks if b.a in placed and b.b in placed),
        key=lambda b: (
            street_id[b.street],
            min(r for r in b.ranges if r) if any(b.ranges) else 0,
            b.cnn,
        ),
    )
    ptr, vertices, along_tiger = [0], [], 0
    for block in kept:
        line, follows = _block_line(graphs.get(block.street), placed[block.a], placed[block.b])
        along_tiger += follows
        vertices.extend(line)
        ptr.append(len(vertices))
    members = [sorted(street_id[s] for s in streets.node_streets[n]) for n in node_cnn]
    other_names = sorted(
        (spelling[k], street_id[name])
        for name, keys in aliases.items()
        for k in keys
        if k != street_key(name)
    )
    verts = np.array(vertices, np.int64).reshape(-1, 2)
    nodes = np.array([placed[n] for n in node_cnn], np.int64).reshape(-1, 2)
    arrays: dict[str, npt.NDArray[Any]] = {
        "street_names": np.array(names, dtype=np.str_),
        "node_cnn": np.array(node_cnn, np.int64),
        "node_lat": nodes[:, 1].astype(np.int32),
        "node_lon": nodes[:, 0].astype(np.int32),
        "node_street_ptr": np.array([0, *itertools.accumulate(map(len, members))], np.int32),
        "node_street": np.array([s for m in members for s in m], np.int32),
        "block_cnn": np.array([b.cnn for b in kept], np.int64),
        "block_street": np.array([street_id[b.street] for b in kept], np.int32),
        "block_from": np.array([node_id[b.a] for b in kept], np.int32),
        "block_to": np.array([node_id[b.b] for b in kept], np.int32),
        "block_ranges": np.array([b.ranges for b in kept], np.int32).reshape(-1, 4),
        "block_ptr": np.array(ptr, np.int32),
        "vertex_lat": verts[:, 1].astype(np.int32),
        "vertex_lon": verts[:, 0].astype(np.int32),
        "alias_names": np.array([a for a, _ in other_names], dtype=np.str_),
        "alias_street": np.array([i for _, i in other_names], np.int32),
    }
    report = {
        "rows": streets.rows,
        "blocks_read": len(streets.blocks),
        "intersection_rows": streets.intersection_rows,
        "street_names": len(names),
        "tiger_lines": len(lines),
        "names_matched": dict(sorted(how.items())),
        **node_report,
        "blocks": len(kept),
        "blocks_along_tiger": along_tiger,
        "blocks_straight": len(kept) - along_tiger,
        "blocks_dropped": len(streets.blocks) - len(kept),
        "vertices": len(vertices),
        "aliases": len(other_names),
    }
    return DerivedIndex(arrays, report)


def write_index(
    path: str | Path, arrays: Mapping[str, npt.NDArray[Any]], meta: dict[str, Any]
) -> None:
    """Write the index ``.npz`` (format in the module docstring): the same arrays and meta give
    the same bytes. Replaces ``path`` atomically."""
    entries = {
        "version": np.asarray(FORMAT_VERSION, np.int64),
        "meta": np.asarray(json.dumps(meta, sort_keys=True)),
        **arrays,
    }
    write_npz(path, entries)
