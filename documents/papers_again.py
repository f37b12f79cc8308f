"""Print a plan's papers again, without planning again (``bsb papers PLAN_DIR``).

A plan folder holds everything its papers are made from: ``plan.json``, the scenario copy in
``scenario/`` and, when the scenario has one, the roster's copy. :func:`rewrite_papers` reads
them and writes ``papers/`` anew (in another language, say, or after a facilitator's phone
number was corrected in the copy), or only one facilitator's PDF and xlsx.

Nothing bsb did not write is overwritten: ``papers/`` must hold only files the folder's
manifest lists, unchanged, or the command refuses before writing anything. The new
``papers/`` is written beside the old one and swapped in with renames; a single facilitator's
files are each written to a temporary file and renamed over the old one. The manifest is
updated after.
"""

from __future__ import annotations

import difflib
import json
import shutil
import tempfile
from pathlib import Path

from documents.papers import FACILITATORS, group_pdfs, write_papers
from documents.receipts_template import receipts_template_files
from geodata.files import file_sha256, write_atomic
from geodata.output_guard import (
    MANIFEST_NAME,
    add_to_manifest,
    read_manifest,
    relist_in_manifest,
    replace_folder,
)
from geodata.roster_io import Roster, read_roster
from geodata.scenario_io import read_scenario
from optimizer.errors import InputError, Problem
from optimizer.model import Scenario
from optimizer.solution import Plan, plan_from_dict

__all__ = ["PAPERS", "rewrite_papers"]

PAPERS = "papers"
"""The papers' folder inside a plan folder."""


def rewrite_papers(
    plan_dir: Path,
    *,
    language: str = "id",
    facilitator: str | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write a plan folder's papers again, all of them or one facilitator's.

    Parameters
    ----------
    plan_dir
        A plan folder bsb wrote (``bsb plan``, ``bsb replan``, a service plan).
    language
        ``"id"`` (default) or ``"en"``.
    facilitator
        A facilitator's id (or a desa's file name, for plans without facilitators): only
        ``papers/facilitators/{id}.pdf`` and ``.xlsx`` (and the PDF without names) are written.
    workers
        Processes rendering the papers (``documents.papers.paper_files``); ``None``: by size.

    Returns
    -------
    list of Path
        Every file written.

    Raises
    ------
    InputError
        If the folder is not a plan folder bsb wrote, ``papers/`` holds a file bsb did not
        write or one changed since, the plan or its scenario copy cannot be read, or
        ``facilitator`` names no group of the plan (the known ids are listed).
    """
    plan_dir = Path(plan_dir)
    _check_papers_folder(plan_dir)
    scenario, plan, roster = _read_plan_folder(plan_dir)
    if facilitator is not None:
        return _rewrite_one(plan_dir, scenario, plan, roster, facilitator, language)
    staging = Path(tempfile.mkdtemp(prefix=f".{PAPERS}.tmp-", dir=plan_dir))
    try:
        written = write_papers(
            scenario, plan, staging, language=language, roster=roster, workers=workers
        )
        for name, content in receipts_template_files(scenario, plan).items():
            (staging / name).write_bytes(content)
        replace_folder(staging, plan_dir / PAPERS)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    relist_in_manifest(plan_dir, PAPERS)
    names = [path.relative_to(staging) for path in written]
    names += [Path(name) for name in receipts_template_files(scenario, plan)]
    return [plan_dir / PAPERS / name for name in names]


def _check_papers_folder(plan_dir: Path) -> None:
    """Refuse a folder bsb did not write, or papers with a file bsb did not write."""
    manifest = read_manifest(plan_dir)
    if manifest is None or manifest.kind != "plan" or manifest.files is None:
        raise InputError(
            [
                Problem(
                    str(plan_dir),
                    "is not a plan folder bsb wrote (no plan manifest "
                    f"{MANIFEST_NAME}); bsb papers prints the papers of a bsb plan folder",
                )
            ]
        )
    papers = plan_dir / PAPERS
    problems = []
    if papers.is_dir():
        for path in sorted(papers.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            name = path.relative_to(plan_dir).as_posix()
            listed = manifest.files.get(name)
            if listed is None or path.is_symlink():
                problems.append(Problem(str(path), "was not written by bsb; move it away first"))
            elif listed != file_sha256(path):
                problems.append(
                    Problem(str(path), "was changed after bsb wrote it; move it away first")
                )
    if problems:
        raise InputError(problems)


def _read_plan_folder(plan_dir: Path) -> tuple[Scenario, Plan, Roster | None]:
    plan_path = plan_dir / "plan.json"
    try:
        plan = plan_from_dict(json.loads(plan_path.read_text(encoding="utf-8")))
    except OSError as error:
        raise InputError([Problem(str(plan_path), f"cannot be read: {error}")]) from error
    except (ValueError, KeyError, TypeError) as error:
        raise InputError([Problem(str(plan_path), f"not a readable plan: {error}")]) from error
    copy = plan_dir / "scenario"
    scenario = read_scenario(copy, side_files=False)
    roster = None
    if scenario.roster_file is not None:
        roster = read_roster(copy / scenario.roster_file, scenario)
    return scenario, plan, roster


def _rewrite_one(
    plan_dir: Path,
    scenario: Scenario,
    plan: Plan,
    roster: Roster | None,
    facilitator: str,
    language: str,
) -> list[Path]:
    from documents.facilitator_papers import facilitator_groups, facilitator_xlsx

    groups = {group.id: group for group in facilitator_groups(scenario, plan)}
    group = groups.get(facilitator)
    if group is None:
        same_letters = [i for i in groups if i.casefold() == facilitator.casefold()]
        close = same_letters or difflib.get_close_matches(facilitator, list(groups), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(groups)[:20]) + (" ..." if len(groups) > 20 else "")
        raise InputError(
            [
                Problem(
                    "--facilitator",
                    f"{facilitator!r} has no papers in this plan.{hint} "
                    f"Known: {known or 'none (the plan delivers nothing)'}",
                )
            ]
        )
    papers = plan_dir / PAPERS
    files = {
        papers / name: content
        for name, content in group_pdfs(scenario, plan, group, roster, language)
    }
    files[papers / FACILITATORS / f"{group.id}.xlsx"] = facilitator_xlsx(
        scenario, plan, group, language=language
    )
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, content, private=False)
    add_to_manifest(plan_dir, files)
    return list(files)
