"""What one grading worker is asked to do: one typed description, written once by ``grade`` and read once.

``seqlab grade`` writes a :class:`GradingJob` per student as JSON (``<workspace>/jobs/<lesson>/<id>.json``) and
starts a worker with that file's path as its only argument (:mod:`seqlab.tools.grading.worker`); the worker
reads it back with :meth:`GradingJob.read`.  Nothing else travels between the two but the result file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqlab.tools.grading.limits import Capabilities, Limits
from seqlab.tools.grading.records import write_atomically
from seqlab.tools.grading.workspace import Workspace

__all__ = ["GradingJob"]


@dataclass(frozen=True)
class GradingJob:
    """Everything a worker needs to grade one student's submission.

    Attributes:
        course: the course repository (its ``nbgrader_config.py``).
        lesson: the lesson's name, e.g. ``"01_rnn"``.
        student: the student's id.
        submission: the submitted notebook (only read, never modified).
        source: the submitted file's name as handed in (the CSV's ``submission`` column).
        sha256: the submitted file's SHA-256 (a result is reused only for the same file).
        folder: the student's own grading folder (emptied first; ``result.json`` is written there last).
        template: the prepared template gradebook, copied into ``folder``.
        settings: what the result depends on besides the file (the lesson, its solution's SHA-256, the limits).
        capabilities: what this machine enforces for a sandboxed kernel (probed once per run).
        hide: folders the student's kernel must not see (solutions, git folders, workspace, submissions).
        kernel_server: the run's kernel server, whose forks are the student's kernels ("": kernels start cold).
    """

    course: Path
    lesson: str
    student: str
    submission: Path
    source: str
    sha256: str
    folder: Path
    template: Path
    settings: dict
    capabilities: Capabilities
    hide: tuple[str, ...] = field(default_factory=tuple)
    kernel_server: str = ""

    @property
    def limits(self) -> Limits:
        return Limits(**self.settings["limits"])

    @property
    def own(self) -> Workspace:
        """The student's grading folder as nbgrader's workspace."""
        return Workspace(self.folder)

    @property
    def release(self) -> Path:
        """The released notebook that came with the template gradebook (its nbgrader metadata is the truth)."""
        return self.template.parent / "release" / self.lesson / f"{self.lesson}.ipynb"

    def write(self, path: Path) -> None:
        data = asdict(self)
        data.update({key: str(data[key]) for key in ("course", "submission", "folder", "template")})
        data["hide"] = list(self.hide)
        write_atomically(path, json.dumps(data, indent=1, default=list).encode("utf-8"))

    @classmethod
    def read(cls, path: Path) -> GradingJob:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for key in ("course", "submission", "folder", "template"):
            data[key] = Path(data[key])
        capabilities = data["capabilities"]
        capabilities["problems"] = tuple(capabilities.get("problems", ()))
        data["capabilities"] = Capabilities(**capabilities)
        data["hide"] = tuple(data["hide"])
        return cls(**data)
