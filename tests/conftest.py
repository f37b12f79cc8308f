"""Shared fixtures: tiny scenarios built directly from the model, named after what they exercise."""

from __future__ import annotations

from datetime import date

import pytest

from optimizer.model import (
    Calendar,
    DropPoint,
    Scenario,
    SolverSettings,
    Tranche,
    Truck,
    Warehouse,
)

# The service tests' real server on loopback (one per module that asks for it).
from tests.service_live import live_server  # noqa: F401

DRAMAGA = (106.74, -6.57)


def make_tiny_scenario(**overrides: object) -> Scenario:
    """One warehouse near Dramaga, two trucks (2 t and 5 t), four drop points, two tranches."""
    warehouses = (Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 100_000.0),)
    trucks = (
        Truck("T1", "W1", 2000.0, 7 * 3600, 17 * 3600, 5000.0, 750_000.0, None, "CDE"),
        Truck("T2", "W1", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
    )
    points = (
        DropPoint("00042", "RW 01 Babakan", 106.75, -6.56, 50, "Babakan", "Dramaga", "001", "01"),
        DropPoint("P2", "RW 02 Ciherang", 106.72, -6.58, 40, "Ciherang", "Dramaga", "", "02"),
        DropPoint(
            "P3",
            "RW 03 Sukawening",
            106.70,
            -6.55,
            120,
            "Sukawening",
            "Dramaga",
            open_s=8 * 3600,
            close_s=15 * 3600,
        ),
        DropPoint("P4", "RW 05 Petir", 106.77, -6.60, 30, "Petir", "Dramaga", service_min=20.0),
    )
    tranches = (
        Tranche(
            "T-SEP", "September (Agustus + September)", 30.0, date(2020, 9, 1), date(2020, 9, 30)
        ),
        Tranche("T-OKT", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 31)),
    )
    fields: dict[str, object] = {
        "name": "tiny",
        "start_date": date(2020, 9, 1),
        "warehouses": warehouses,
        "trucks": trucks,
        "drop_points": points,
        "tranches": tranches,
        "calendar": Calendar(),
        "solver": SolverSettings(time_limit_s=5.0, seed=1, solution_limit=50),
    }
    fields.update(overrides)
    return Scenario(**fields)  # type: ignore[arg-type]


@pytest.fixture
def tiny_scenario() -> Scenario:
    return make_tiny_scenario()
