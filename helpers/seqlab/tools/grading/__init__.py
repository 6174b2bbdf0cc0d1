"""Grading: ``seqlab grade`` (a class) and ``seqlab check`` (one notebook, a student's pre-submission run).

The pipeline, in the order a submission meets it:

- :mod:`.grade`: the class run, five steps (collect, prepare, triage, grade, report), one config in, one result out;
- :mod:`.collect`: submissions from a folder, a zip or nbgrader's collected layout, and why a file is not gradable;
- :mod:`.gradebooks`: the lesson in nbgrader's gradebooks, its graded cells, scores given by hand;
- :mod:`.job`: one student's grading job, written once by the run and read once by the worker;
- :mod:`.pool`: workers a few at a time, each with a time limit (forked on Linux);
- :mod:`.worker`: one student in their own folder: nbgrader's autograde and feedback, ``result.json``;
- :mod:`.executor`: the notebook executor both ``seqlab grade`` (inside nbgrader) and ``seqlab check`` use;
- :mod:`.kernel_guard`: what the executor runs inside a kernel to keep test cells honest;
- :mod:`.sandbox`, :mod:`.sandbox_launch`, :mod:`.limits`: the kernel's sandbox, its launcher, its limits;
- :mod:`.scan`: the static scan of a submission's code cells (flags, never points);
- :mod:`.feedback`: what a student is shown (hidden tests stay hidden);
- :mod:`.records`, :mod:`.report`, :mod:`.workspace`: results on disk, ``grades.csv``, the grading folders;
- :mod:`.check`: ``seqlab check``.
"""

__all__: list[str] = []
