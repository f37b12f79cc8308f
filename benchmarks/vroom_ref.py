"""VROOM as a reference solver for the VRP benchmarks (strategies ``vroom`` and ``vroom-x0``).

VROOM works in integers: times and costs are whole units. Instances are scaled by
:data:`SCALE` (100): an arc costs ``round(100 d)`` and takes ``ceil(100 d)``, service takes
``ceil(100 s)``, a window ``[a, b]`` becomes ``[ceil(100 a), floor(100 b)]``. Rounding every
duration up and every window inwards makes VROOM's schedule at least as late as the true
double-precision one at every stop, so each route VROOM accepts is feasible in double precision
too (service start = max(arrival, ready) never exceeds the scaled start / 100). Costs are only
rounded, to the nearest 0.01, which is all the search needs.

VROOM leaves jobs unassigned rather than failing; :func:`solve_vroom` returns the routes it
found, and a missing customer shows up in :func:`benchmarks.vrp.check_solution`.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from benchmarks.vrp import VrpInstance

SCALE = 100
"""Integer units per instance unit of distance and time."""

_PROFILE = "car"
# Keeps products like 100 * 1.1 = 110.00000000000001 from rounding up (or a window's end down)
# by a whole unit; the error it admits, 1e-11 per arc, is far inside the checker's 1e-6.
_EPS = 1e-9


def solve_vroom(
    instance: VrpInstance,
    *,
    exploration: int = 5,
    threads: int = 1,
    time_limit_s: float | None = None,
) -> list[list[int]]:
    """Solve a VRP(TW) instance with VROOM.

    Parameters
    ----------
    instance
        The instance; travel time equals Euclidean distance. Its fleet is ``max_vehicles``
        vehicles of ``capacity``, leaving the depot at ``ready[0]`` and back by ``due[0]``
        (CVRP: no windows at all).
    exploration
        VROOM's exploration level, 0 (fastest) to 5 (most thorough).
    threads
        Threads VROOM may use.
    time_limit_s
        Optional wall-clock limit on VROOM's search.

    Returns
    -------
    list[list[int]]
        Routes as customer numbers ``1..n``, depot excluded, in VROOM's vehicle order; empty
        vehicles are left out.

    Raises
    ------
    ValueError
        If ``exploration`` is outside 0..5, ``threads`` < 1 or ``time_limit_s`` <= 0.
    """
    import vroom

    if not 0 <= exploration <= 5:
        raise ValueError(f"exploration must be 0..5, got {exploration}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if time_limit_s is not None and time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")

    distance = np.hypot(
        instance.x[:, None] - instance.x[None, :], instance.y[:, None] - instance.y[None, :]
    )
    problem = vroom.Input()
    problem.set_costs_matrix(_PROFILE, np.rint(SCALE * distance).astype(np.uint32))
    problem.set_durations_matrix(_PROFILE, _up(distance))

    windows = instance.has_time_windows
    for customer in range(1, instance.n_customers + 1):
        problem.add_job(
            vroom.Job(
                id=customer,
                location=customer,
                default_service=int(_up(instance.service[customer])),
                delivery=[int(instance.demand[customer])],
                time_windows=(
                    [vroom.TimeWindow(*_window(instance.ready[customer], instance.due[customer]))]
                    if windows
                    else []
                ),
            )
        )
    problem.add_vehicle(
        [
            vroom.Vehicle(
                id=vehicle,
                start=0,
                end=0,
                profile=_PROFILE,
                capacity=[instance.capacity],
                time_window=(
                    vroom.TimeWindow(*_window(instance.ready[0], instance.due[0]))
                    if windows
                    else None
                ),
            )
            for vehicle in range(instance.max_vehicles)
        ]
    )
    timeout = None if time_limit_s is None else timedelta(seconds=time_limit_s)
    solution = problem.solve(exploration_level=exploration, nb_threads=threads, timeout=timeout)

    routes: dict[int, list[int]] = {}
    steps = solution.routes
    if "id" not in steps:  # the frame drops its job-id column when no job was assigned
        return []
    for vehicle, kind, job in zip(steps["vehicle_id"], steps["type"], steps["id"], strict=True):
        if kind == "job":
            routes.setdefault(int(vehicle), []).append(int(job))
    return [route for _, route in sorted(routes.items()) if route]


def _up(value: np.ndarray | float) -> np.ndarray:
    """Scale a duration (or matrix of them) and round up, to VROOM's unsigned 32-bit ints."""
    return np.ceil(np.asarray(value) * SCALE - _EPS).astype(np.uint32)


def _window(ready: float, due: float) -> tuple[int, int]:
    """Scale a time window and round it inwards."""
    return math.ceil(ready * SCALE - _EPS), math.floor(due * SCALE + _EPS)
