"""Learning-plan evaluation against an expert-written gold set (``data/eval/plans.jsonl``).

Each gold target lists groups of acceptable prerequisites (a group is met when
the plan holds any member) and items that would clearly be wrong in its plan.
The plan judged is exactly what ``ckg path TARGET`` returns (nothing known,
default confidence). Gold ids are resolved through the catalog, so a gold id
that a later build merges into another concept (it becomes an alt label)
still counts.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ckg.config import REPO_ROOT
from ckg.errors import CkgError
from ckg.progress import counted

DEFAULT_PLANS = REPO_ROOT / "data" / "eval" / "plans.jsonl"


class PlanGold(BaseModel):
    target: str
    split: str
    groups: list[list[str]]
    wrong: list[str] = Field(default_factory=list)


class PlanResult(BaseModel):
    target: str
    split: str
    plan_size: int
    groups: int
    groups_met: int
    unmet: list[list[str]]
    wrong_items: list[str]
    unresolved: list[str] = Field(default_factory=list)


class SplitSummary(BaseModel):
    split: str
    targets: int
    groups: int
    groups_met: int
    group_recall: float
    wrong_items: int
    wrong_per_20_plans: float
    median_plan: float
    plans_fully_met: float


class PlanEvalReport(BaseModel):
    splits: list[SplitSummary]
    results: list[PlanResult]


def load_plans(path: Path | None = None) -> list[PlanGold]:
    path = path or DEFAULT_PLANS
    if not path.exists():
        raise CkgError(f"plan gold set {path} not found")
    out = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(PlanGold.model_validate_json(line))
        except ValueError as exc:
            raise CkgError(
                f"{path}:{n}: not a plan gold record ({exc.__class__.__name__}); see data/eval/README.md"
            ) from exc
    return out


def evaluate_plans(finder: Any, gold: list[PlanGold]) -> PlanEvalReport:
    """Score the plans ``finder`` (a :class:`retrieval.gap.GapFinder`) makes for every gold target."""
    resolve = finder.cat.resolve_gold
    results: list[PlanResult] = []
    with counted(len(gold), "plans judged") as advance:
        for g in gold:
            results.append(_judge(finder, g, resolve))
            advance(1)
    splits = []
    for name in [*sorted({r.split for r in results}), "all"]:
        rs = [r for r in results if name in ("all", r.split)]
        groups = sum(r.groups for r in rs)
        met = sum(r.groups_met for r in rs)
        wrong = sum(len(r.wrong_items) for r in rs)
        splits.append(
            SplitSummary(
                split=name,
                targets=len(rs),
                groups=groups,
                groups_met=met,
                group_recall=round(met / groups, 4) if groups else 0.0,
                wrong_items=wrong,
                wrong_per_20_plans=round(20 * wrong / len(rs), 3) if rs else 0.0,
                median_plan=float(statistics.median(r.plan_size for r in rs)) if rs else 0.0,
                plans_fully_met=round(sum(r.groups_met == r.groups for r in rs) / len(rs), 4) if rs else 0.0,
            )
        )
    return PlanEvalReport(splits=splits, results=results)


def _judge(finder: Any, g: PlanGold, resolve: Any) -> PlanResult:
    """One gold target: which of its groups the plan meets and which wrong items it contains."""
    target = resolve(g.target)
    if target is None:
        raise CkgError(f"plan gold target {g.target!r} matches no concept of this build")
    plan = finder.gap([target], set())
    have = {i.id for i in plan.missing}
    unresolved: list[str] = []
    met, unmet = 0, []
    for group in g.groups:
        ids = set()
        for ref in group:
            cid = resolve(ref)
            if cid is None:
                unresolved.append(ref)
            elif cid != target:
                ids.add(cid)
        if ids & have:
            met += 1
        else:
            unmet.append(group)
    wrong = sorted({cid for ref in g.wrong if (cid := resolve(ref)) is not None and cid in have})
    return PlanResult(
        target=target,
        split=g.split,
        plan_size=len(plan.missing),
        groups=len(g.groups),
        groups_met=met,
        unmet=unmet,
        wrong_items=wrong,
        unresolved=sorted(set(unresolved)),
    )


def dumps(report: PlanEvalReport) -> str:
    return json.dumps(report.model_dump(), indent=2)
