"""The builder's checks of facilitators and of the drop points' references to them."""

from __future__ import annotations

import dataclasses

import pytest

from optimizer.builder import check_scenario
from optimizer.errors import InputError, Problem
from optimizer.model import Facilitator, PaperSettings, Scenario
from tests.conftest import make_tiny_scenario

SECRET_NAME = "Siti Rahmawati Secretname"
SECRET_PHONE = "0812-9999-1111"


def with_facilitators(
    facilitators: tuple[Facilitator, ...], assigned: dict[str, str | None]
) -> Scenario:
    scenario = make_tiny_scenario()
    points = tuple(
        dataclasses.replace(p, facilitator=assigned.get(p.id)) for p in scenario.drop_points
    )
    return dataclasses.replace(scenario, drop_points=points, facilitators=facilitators)


def problems_of(scenario: Scenario) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        check_scenario(scenario)
    return caught.value.problems


def test_facilitators_roster_and_papers_survive_the_checks() -> None:
    scenario = dataclasses.replace(
        with_facilitators(
            (Facilitator("F01", SECRET_NAME, SECRET_PHONE), Facilitator("F02", "Budi")),
            {"00042": "F01", "P2": "F02", "P3": "F01"},
        ),
        roster_file="kpm.csv",
        papers=PaperSettings(full_nik=True),
    )
    built = check_scenario(scenario)
    assert built == scenario
    assert built.facilitator("F01").phone == SECRET_PHONE
    assert built.drop_point("P4").facilitator is None


def test_unknown_and_duplicate_facilitators_are_problems_naming_row_and_field() -> None:
    scenario = with_facilitators(
        (
            Facilitator("F01", SECRET_NAME, SECRET_PHONE),
            Facilitator("F01", SECRET_NAME + " II"),
            Facilitator("F03", " ", "call me maybe"),
        ),
        {"00042": "F01", "P2": "F0l", "P3": "F09"},
    )
    problems = problems_of(scenario)
    located = {(p.file, p.row, p.field) for p in problems}
    assert ("facilitators", 3, "id") in located
    assert ("facilitators", 4, "name") in located
    assert ("facilitators", 4, "phone") in located
    assert ("drop_points", 3, "facilitator") in located
    assert ("drop_points", 4, "facilitator") in located
    assert len(problems) == 5
    text = "\n".join(str(p) for p in problems)
    assert "did you mean 'F01'" in text
    assert SECRET_NAME not in text and "Secretname" not in text
    assert "call me maybe" not in text and SECRET_PHONE not in text


def test_a_reference_without_any_facilitators_table_says_so() -> None:
    (problem,) = problems_of(with_facilitators((), {"P2": "F01"}))
    assert (problem.row, problem.field) == (3, "facilitator")
    assert "no facilitators" in problem.message
