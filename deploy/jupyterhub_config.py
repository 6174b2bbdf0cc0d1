"""JupyterHub for one course of "Sequence Models from Scratch": students, graders, a shared formgrader.

Run as root from the hub's state folder (its database and cookie secret go there), as docs/deployment.md says:
``cd /srv/jupyterhub && /srv/seqmodels/.venv/bin/jupyterhub -f /srv/seqmodels/deploy/jupyterhub_config.py``.
It assumes:

* the course repository cloned to /srv/seqmodels, owned by the course account ``grader-seqmodels``, and installed
  there with `make install` (its .venv is the environment of every user's server and kernel, the same pins as the
  course's CI, and holds JupyterHub's proxy, configurable-http-proxy, at the version deploy/proxy pins);
* a Linux account with a password for every student and grader (PAM checks the password; each user's server runs
  as that account), and the course account, which runs the shared formgrader;
* nbgrader's exchange at /srv/nbgrader/exchange, created by root with mode 1777.

tests/test_hub.py starts this file as it is, as root, with real accounts, and drives the whole semester's loop in
a browser; the environment variables ``SEQLAB_HUB_*`` below are what it changes (ports, folders, the lists of
users).  tests/test_deployment.py checks every option, role and scope against the installed JupyterHub.
"""

import os
import pwd

# The nbgrader course id, seqlab.tools.course.COURSE_ID (a literal: importing seqlab would load torch into the hub).
COURSE = "seqmodels"  # the service, group and role names below derive from it
COURSE_ROOT = os.environ.get("SEQLAB_HUB_COURSE_ROOT", "/srv/seqmodels")  # the course repository (`make install`)
COURSE_BIN = f"{COURSE_ROOT}/.venv/bin"
COURSE_ACCOUNT = f"grader-{COURSE}"  # owns COURSE_ROOT, runs the formgrader
EXCHANGE = os.environ.get("SEQLAB_HUB_EXCHANGE", "/srv/nbgrader/exchange")
# The lists of users: edit them here (or give them comma-separated in these variables).
GRADERS = os.environ.get("SEQLAB_HUB_GRADERS", "instructor1,ta1").split(",")
STUDENTS = os.environ.get("SEQLAB_HUB_STUDENTS", "student1,student2").split(",")
FORMGRADER_PORT = int(os.environ.get("SEQLAB_HUB_FORMGRADER_PORT", "9999"))

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

c.JupyterHub.bind_url = "http://0.0.0.0:8000"  # put a TLS-terminating proxy (nginx, Caddy) in front of it
c.ConfigurableHTTPProxy.command = [f"{COURSE_BIN}/configurable-http-proxy"]  # installed by `make install`
c.JupyterHub.authenticator_class = "pam"  # the accounts' own passwords
c.JupyterHub.spawner_class = "localprocess"  # each user's server runs as that user, from the user's home
c.Authenticator.allowed_users = set(GRADERS + STUDENTS)
c.Authenticator.admin_users = {GRADERS[0]}

# Every user's server runs from the course's environment: JupyterLab, nbgrader's student extensions (assignment
# list, Validate), ipywidgets for the progress bars, and the pinned PyTorch as the notebook kernel.
c.Spawner.cmd = [f"{COURSE_BIN}/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
# The numerical code paths pinned from the kernel's start (seqlab.numerics.PINNED_ENVIRONMENT: the same bits
# on every processor with AVX2, so students see the stored numbers; importing seqlab sets them too).
PINNED_NUMERICS = {"MKL_CBWR": "COMPATIBLE,STRICT", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
SERVER_PATH = f"{COURSE_BIN}:/usr/local/bin:/usr/bin:/bin"
c.Spawner.environment = {
    "PATH": SERVER_PATH,
    "SEQLAB_PROGRESS": "1",
    **PINNED_NUMERICS,
    # Only the student side of nbgrader (assignment list, Validate): deploy/student turns off the formgrader,
    # the course list and the Create Assignment panel; deploy/jupyter sets the course id and the exchange.
    "JUPYTER_CONFIG_PATH": f"{COURSE_ROOT}/deploy/student:{COURSE_ROOT}/deploy/jupyter",
    "SEQLAB_HUB_EXCHANGE": EXCHANGE,
}
# Users' own ~/.jupyter configuration is ignored, so a student cannot turn the instructor's extensions back on.
c.Spawner.disable_user_config = True
# A laptop-sized course: each lesson runs in about a minute on 2 cores with under 2 GB.
c.Spawner.mem_limit = "4G"  # enforced by container spawners (DockerSpawner, KubeSpawner); advisory here
c.Spawner.cpu_limit = 2.0


def private_home(spawner):
    """Make the user's home folder private (0700) before their server starts.

    nbgrader copies fetched assignments and its submission cache (which names the submission in the exchange and
    holds the secret that names its feedback) into the home folder readable by all, whatever the umask
    (nbgrader issue #1711); Debian's `useradd -m` makes homes 0755.  A private home keeps other students out.
    """
    home = pwd.getpwnam(spawner.user.name).pw_dir
    os.chmod(home, 0o700)


c.Spawner.pre_spawn_hook = private_home

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
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [f"{COURSE_BIN}/jupyterhub-singleuser"],
        "user": COURSE_ACCOUNT,
        "cwd": COURSE_ROOT,  # the formgrader reads nbgrader_config.py from here: solutions/, notebooks/, gradebook
        "oauth_no_confirm": True,  # the course's own service: graders are not asked to authorize it at each login
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "PATH": SERVER_PATH,
            **PINNED_NUMERICS,  # the formgrader's kernels (validation) compute as the students' do
            # deploy/formgrader: the formgrader tab works under JupyterHub >= 4.1 (frame-ancestors 'self', this
            # server only), and the formgrader's autograde button points to `seqlab grade` (sandboxed).
            "JUPYTER_CONFIG_PATH": f"{COURSE_ROOT}/deploy/formgrader:{COURSE_ROOT}/deploy/jupyter",
            "SEQLAB_HUB_EXCHANGE": EXCHANGE,
            # A shared PostgreSQL gradebook for the formgrader and every `seqlab grade` run (optional; without
            # it the gradebook is _grading/gradebook.db in the course folder):
            # "SEQLAB_GRADEBOOK_URL": "postgresql://grader-seqmodels@/seqmodels",
        },
    }
]
