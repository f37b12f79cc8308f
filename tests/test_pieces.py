"""Pieces of a national plan: how a warehouse's work is cut, and how the pieces merge back."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.sample import make_sample
from optimizer.checker import check_plan
from optimizer.model import Scenario, haversine_km
from optimizer.pieces import (
    MIN_PIECE_TIME_S,
    Piece,
    make_pieces,
    merge_plans,
    piece_scenario,
    piece_time_limit_s,
    points_digest,
    tranches_disjoint,
    warehouse_scenario,
)
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.solution import plan_to_dict


@dataclass(frozen=True, slots=True)
class _Share:
    drop_point: str
    warehouse: str
    families: int


@cache
def _scenario(points: int = 200, warehouses: int = 2, seed: int = 3) -> Scenario:
    scenario = make_sample(n_drop_points=points, n_warehouses=warehouses, seed=seed)
    return replace(scenario, solver=replace(scenario.solver, solution_limit=10))


def _nearest(scenario: Scenario) -> list[_Share]:
    """Each point whole to its nearest warehouse (stock is ample in the sample)."""
    return [
        _Share(
            p.id,
            min(scenario.warehouses, key=lambda w: haversine_km(w.lon, w.lat, p.lon, p.lat)).id,
            p.kpm,
        )
        for p in scenario.drop_points
    ]


def _overlapping(scenario: Scenario) -> Scenario:
    """The same scenario with both tranches open the whole of September and October."""
    tranches = tuple(
        replace(t, release=date(2020, 9, 1), deadline=date(2020, 10, 31)) for t in scenario.tranches
    )
    return replace(scenario, tranches=tranches)


def test_tranches_are_split_only_when_their_windows_are_disjoint() -> None:
    scenario = _scenario()
    assert tranches_disjoint(scenario)
    split = make_pieces(scenario, _nearest(scenario))
    assert {p.tranches for p in split} == {(t.id,) for t in scenario.tranches}
    overlapping = _overlapping(scenario)
    assert not tranches_disjoint(overlapping)
    whole = make_pieces(overlapping, _nearest(overlapping))
    assert [p.id for p in sorted(whole, key=lambda p: p.id)] == ["W01", "W02"]
    assert all(p.tranches == tuple(t.id for t in scenario.tranches) for p in whole)


def test_pieces_run_longest_first_with_the_stock_their_families_need() -> None:
    scenario = _overlapping(_scenario())
    pieces = make_pieces(scenario, _nearest(scenario), max_piece_points=40)
    assert [p.work for p in pieces] == sorted((p.work for p in pieces), reverse=True)
    kg_per_family = sum(t.kg_per_kpm for t in scenario.tranches)
    for piece in pieces:
        assert piece.stock_kg == pytest.approx(piece.families * kg_per_family)
        assert piece.to_dict()["points_sha256"] == points_digest(piece.points)


def test_large_warehouses_are_cut_into_sectors_of_whole_kecamatan_with_their_own_trucks() -> None:
    scenario = _overlapping(_scenario(points=300, warehouses=2))
    pieces = make_pieces(scenario, _nearest(scenario), max_piece_points=60)
    by_warehouse: dict[str, list[Piece]] = defaultdict(list)
    for piece in pieces:
        by_warehouse[piece.warehouse].append(piece)
    assert any(len(ps) > 1 for ps in by_warehouse.values()), "no warehouse was split"
    for wh_id, sectors in by_warehouse.items():
        trucks = [t for p in sectors for t in p.trucks]
        assert len(trucks) == len(set(trucks)), f"{wh_id}: a truck in two sectors"
        assert sorted(trucks) == sorted(t.id for t in scenario.trucks if t.warehouse_id == wh_id)
        assert all(p.trucks for p in sectors)
        if len(sectors) > 1:
            assert all(p.sector >= 1 for p in sectors)
            kecamatan_sectors: dict[str, set[int]] = defaultdict(set)
            sizes: dict[str, int] = defaultdict(int)
            for piece in sectors:
                for point, _ in piece.points:
                    name = scenario.drop_point(point).kecamatan
                    kecamatan_sectors[name].add(piece.sector)
                    sizes[name] += 1
            for name, numbers in kecamatan_sectors.items():
                assert len(numbers) == 1 or sizes[name] > 60, f"kecamatan {name} was cut"


@settings(max_examples=25, deadline=None)
@given(max_points=st.integers(min_value=1, max_value=250), overlap=st.booleans())
def test_every_family_is_in_exactly_one_piece_per_tranche(max_points: int, overlap: bool) -> None:
    scenario = _scenario(points=120, warehouses=3, seed=5)
    if overlap:
        scenario = _overlapping(scenario)
    shares = _nearest(scenario)
    pieces = make_pieces(scenario, shares, max_piece_points=max_points)
    for tranche in scenario.tranches:
        got: dict[tuple[str, str], int] = defaultdict(int)
        for piece in pieces:
            if tranche.id in piece.tranches:
                for point, families in piece.points:
                    got[(piece.warehouse, point)] += families
        assert got == {(s.warehouse, s.drop_point): s.families for s in shares}
    assert len({p.id for p in pieces}) == len(pieces)


def test_a_share_of_an_unknown_point_is_refused() -> None:
    scenario = _scenario()
    with pytest.raises(ValueError, match="unknown drop point"):
        make_pieces(scenario, [_Share("nowhere", "W01", 3)])
    with pytest.raises(ValueError, match="unknown warehouse"):
        make_pieces(scenario, [_Share(scenario.drop_points[0].id, "W99", 3)])
    with pytest.raises(ValueError, match="max_piece_points"):
        make_pieces(scenario, _nearest(scenario), max_piece_points=0)


def test_piece_time_limit_scales_with_its_share_of_points() -> None:
    scenario = replace(_scenario(), solver=replace(_scenario().solver, time_limit_s=100.0))
    pieces = make_pieces(scenario, _nearest(scenario))
    piece = pieces[0]
    share = len(piece.points) / len(scenario.drop_points)
    assert piece_time_limit_s(scenario, piece, None) == pytest.approx(
        min(100.0, max(MIN_PIECE_TIME_S, 100.0 * share))
    )
    assert piece_time_limit_s(scenario, piece, 2.5) == 2.5
    small = replace(scenario, solver=replace(scenario.solver, time_limit_s=5.0))
    assert piece_time_limit_s(small, piece, None) == 5.0


def test_a_piece_is_an_ordinary_one_warehouse_scenario() -> None:
    scenario = _scenario()
    piece = make_pieces(scenario, _nearest(scenario), max_piece_points=50)[0]
    sub = piece_scenario(scenario, piece, time_limit_s=3.0)
    assert [w.id for w in sub.warehouses] == [piece.warehouse]
    assert sub.warehouses[0].stock_kg == piece.stock_kg
    assert [t.id for t in sub.trucks] == list(piece.trucks)
    assert [(p.id, p.kpm) for p in sub.drop_points] == list(piece.points)
    assert sub.solver.time_limit_s == 3.0
    assert sub.calendar == scenario.calendar and sub.service == scenario.service


@pytest.mark.parametrize("overlap", [False, True], ids=["by-tranche", "by-sector"])
def test_merged_plan_of_a_warehouses_pieces_passes_the_checker(overlap: bool) -> None:
    scenario = _scenario(points=160, warehouses=2)
    if overlap:
        scenario = _overlapping(scenario)
    pieces = make_pieces(scenario, _nearest(scenario), max_piece_points=45)
    wh_id = pieces[0].warehouse
    mine = [p for p in pieces if p.warehouse == wh_id]
    assert len(mine) > 1
    plans = [
        plan_scenario(
            piece_scenario(scenario, p, time_limit_s=5.0), options=PlannerOptions(workers=1)
        )
        for p in mine
    ]
    sub = warehouse_scenario(scenario, mine)
    merged = merge_plans(sub, plans)
    assert check_plan(sub, plan_to_dict(merged)) == []
    assert len(merged.routes) == sum(len(p.routes) for p in plans)
    assert merged.kpis.families_total == sum(p.kpm for p in sub.drop_points)
    with pytest.raises(ValueError):
        merge_plans(sub, [])
    with pytest.raises(ValueError):
        warehouse_scenario(scenario, [pieces[0], next(p for p in pieces if p.warehouse != wh_id)])
