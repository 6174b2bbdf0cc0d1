"""JupyterHub for one course of "Sequence Models from Scratch": students, graders, a shared formgrader.

Copy to /etc/jupyterhub/jupyterhub_config.py and adjust the lists of users.  It assumes (docs/deployment.md):

* the course repository cloned to /srv/seqmodels and installed there with `make install` (its .venv is the
  environment of every user's server and kernel: the same pins as the course's CI);
* Linux accounts for the students and graders, and one account ``grader-seqmodels`` that owns the course
  folder and runs the shared formgrader;
* nbgrader's exchange at /srv/nbgrader/exchange and the global nbgrader config of deploy/nbgrader_config.py
  copied to /etc/jupyter/nbgrader_config.py.

tests/test_deployment.py loads this file into JupyterHub's own configuration classes and checks every setting,
role and scope against the installed JupyterHub.
"""

COURSE = "seqmodels"  # the nbgrader course id: the service, group and role names below derive from it
COURSE_ROOT = "/srv/seqmodels"  # the course repository, installed with `make install`
COURSE_BIN = f"{COURSE_ROOT}/.venv/bin"
GRADERS = ["instructor1", "ta1"]
STUDENTS = ["student1", "student2"]

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

c.JupyterHub.bind_url = "http://0.0.0.0:8000"  # put a TLS-terminating proxy (nginx, Caddy) in front of it
c.Authenticator.allowed_users = set(GRADERS + STUDENTS)
c.Authenticator.admin_users = {GRADERS[0]}

# Every user's server runs from the course's environment: JupyterLab, nbgrader's student extensions (assignment
# list, Validate), ipywidgets for the progress bars, and the pinned PyTorch as the notebook kernel.
c.Spawner.cmd = [f"{COURSE_BIN}/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
# The numerical code paths pinned from the kernel's start (seqlab.numerics.PINNED_ENVIRONMENT: the same bits
# on every processor with AVX2, so students see the stored numbers; importing seqlab sets them too).
PINNED_NUMERICS = {"MKL_CBWR": "COMPATIBLE,STRICT", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
c.Spawner.environment = {
    "PATH": f"{COURSE_BIN}:/usr/local/bin:/usr/bin:/bin",
    "SEQLAB_PROGRESS": "1",
    **PINNED_NUMERICS,
}
# A laptop-sized course: each lesson runs in about a minute on 2 cores with under 2 GB.
c.Spawner.mem_limit = "4G"  # enforced by container spawners (DockerSpawner, KubeSpawner); advisory here
c.Spawner.cpu_limit = 2.0

# Graders share one server (the formgrader), run as the course account; the group name must start with
# "formgrade-" for nbgrader's course list to find it, and the service name must be the course id.
c.JupyterHub.load_groups = {f"formgrade-{COURSE}": {"users": GRADERS}}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [
            f"access:services!service={COURSE}",
            "list:services",  # nbgrader's course list discovers the service through the hub's API
            f"read:services!service={COURSE}",
        ],
    },
    # Users' own servers may call the hub API as their owner does (nbgrader's course list in JupyterLab).
    {"name": "server", "scopes": ["inherit"]},
]
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": "http://127.0.0.1:9999",
        "command": [f"{COURSE_BIN}/jupyterhub-singleuser", "--debug"],
        "user": f"grader-{COURSE}",
        "cwd": COURSE_ROOT,  # the formgrader reads nbgrader_config.py from here: solutions/, notebooks/, gradebook
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "PATH": f"{COURSE_BIN}:/usr/local/bin:/usr/bin:/bin",
            **PINNED_NUMERICS,  # the formgrader's kernels (validation) compute as the students' do
            # A shared PostgreSQL gradebook for the formgrader and every `seqlab grade` run (optional; without
            # it the gradebook is _grading/gradebook.db in the course folder):
            # "SEQLAB_GRADEBOOK_URL": "postgresql://grader-seqmodels@/seqmodels",
        },
    }
]
