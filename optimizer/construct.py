"""A fast construction heuristic for routing parts the time limit leaves no search time for.

When the plan's deadline has passed, or the search was stopped (Ctrl-C, a cancelled job), the
parts not yet routed still need trips: OR-Tools' first solution on a few hundred chunks with
time windows takes from a tenth of a second to several seconds, and a national plan has
thousands of parts. :func:`nearest_neighbour` builds trips in milliseconds instead: each trip
starts at the farthest chunk still waiting that it can serve (so that far chunks do not end up
alone), then goes on to the nearest chunk that still fits its load, the chunk's window and the
shift, until nothing fits. It reads only the problem's matrices, so it works with any travel
model; each vehicle group drives on its own routing profile (small trucks may take roads big
ones may not). Its trips are feasible for the routing model; the packer schedules them as
usual.
"""

from __future__ import annotations

import numpy as np

from optimizer.routing import RoutingProblem, RoutingResult, trips_cost

__all__ = ["nearest_neighbour"]


def nearest_neighbour(problem: RoutingProblem) -> RoutingResult:
    """Build feasible trips greedily: farthest chunk first, then nearest fitting neighbour.

    Parameters
    ----------
    problem
        The routing subproblem (depot 0, chunks 1..n), with time windows when ``timed``.

    Returns
    -------
    RoutingResult
        Trips per vehicle group, at most each group's ``n_trips``, groups in their given order;
        chunks no trip could take are ``dropped``. ``solutions`` is 1 and the objective is
        the routing model's (:func:`optimizer.routing.trips_cost`).
    """
    n_nodes = len(problem.demand_sacks)
    demand = np.asarray(problem.demand_sacks, dtype=np.int64)
    service = np.asarray(problem.service_s, dtype=np.int64)
    open_s = np.asarray(problem.open_s, dtype=np.int64)
    close_s = np.asarray(problem.close_s, dtype=np.int64)
    distances = [np.asarray(problem.distance(k), dtype=np.int64) for k in range(problem.n_profiles)]
    travels = [np.asarray(problem.travel(k), dtype=np.int64) for k in range(problem.n_profiles)]
    waiting = np.ones(n_nodes, dtype=bool)
    waiting[0] = False
    trips: list[tuple[int, tuple[int, ...]]] = []
    for group_index, group in enumerate(problem.groups):
        for _ in range(group.n_trips):
            if not waiting.any():
                break
            nodes = _one_trip(
                problem.timed,
                group.capacity_sacks,
                group.earliest_depart_s,
                group.shift_end_s,
                waiting,
                demand,
                service,
                open_s,
                close_s,
                distances[group.access],
                travels[group.access],
            )
            if not nodes:
                break  # nothing this group can carry: the next group may
            waiting[list(nodes)] = False
            trips.append((group_index, nodes))
    dropped = tuple(int(n) for n in np.flatnonzero(waiting))
    return RoutingResult(tuple(trips), dropped, 1, False, trips_cost(problem, trips, len(dropped)))


def _one_trip(
    timed: bool,
    capacity: int,
    depart_s: int,
    shift_end_s: int,
    waiting: np.ndarray,
    demand: np.ndarray,
    service: np.ndarray,
    open_s: np.ndarray,
    close_s: np.ndarray,
    distance: np.ndarray,
    travel: np.ndarray,
) -> tuple[int, ...]:
    """One trip from the depot over waiting chunks; empty when no chunk fits at all."""
    nodes: list[int] = []
    here = 0
    load = 0
    clock = depart_s + int(
        service[0]
    )  # when the truck leaves ``here`` (time as the model counts it)
    candidates = waiting.copy()
    while True:
        fits = candidates & (demand <= capacity - load)
        if timed:
            arrive = np.maximum(clock + travel[here], open_s)
            fits &= (arrive <= close_s) & (arrive + service + travel[:, 0] <= shift_end_s)
        if not fits.any():
            return tuple(nodes)
        choice = np.flatnonzero(fits)
        # The first stop is the farthest fitting chunk; then the nearest. Ties go to the lowest
        # index, so the trips depend only on the problem.
        row = distance[here, choice]
        pick = int(choice[int(np.argmax(row)) if here == 0 else int(np.argmin(row))])
        if timed:
            clock = int(arrive[pick]) + int(service[pick])
        nodes.append(pick)
        load += int(demand[pick])
        candidates[pick] = False
        here = pick
