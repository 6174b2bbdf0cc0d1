"""Autograde one student's submission and write its feedback, in a process of its own.

``seqlab grade`` starts one of these per submission (``python -m seqlab.tools.grade_worker``), so
whatever the student's code does to its kernel or to this process costs only that student.  The
last line printed is a JSON object: ``{"autograde": bool, "feedback": bool, "error": str}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqlab.tools.workspace import Workspace, nbgrader_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--course", type=Path, required=True)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--lesson", required=True)
    parser.add_argument("--student", required=True)
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell")
    args = parser.parse_args(argv)

    from nbgrader.apps import NbGraderAPI

    workspace = Workspace(args.workspace)
    api = NbGraderAPI(config=nbgrader_config(args.course, workspace, args.timeout))
    graded = api.autograde(args.lesson, args.student, force=True, create=True)
    log = graded.get("log", "")
    outcome = {"autograde": bool(graded["success"]), "feedback": False, "error": graded.get("error", "")}
    if graded["success"]:
        feedback = api.generate_feedback(args.lesson, args.student, force=True)
        log += feedback.get("log", "")
        outcome["feedback"] = bool(feedback["success"])
        outcome["error"] = feedback.get("error", "")
    log_path = workspace.log(args.student)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(log + "\n" + (outcome["error"] or ""), encoding="utf-8")
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
