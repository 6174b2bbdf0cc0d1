"""The graders' formgrader service only: let JupyterLab show the formgrader in a tab under JupyterHub >= 4.1.

JupyterHub 4.1 made single-user servers send ``Content-Security-Policy: frame-ancestors 'none'`` so that one
user's pages cannot be framed by another's on the same origin.  nbgrader's formgrader tab in JupyterLab is an
iframe, so it stays blank (nbgrader issues #1870, #1910).  This server (and no student's) allows same-origin
framing, which restores the tab; docs/deployment.md says what that re-opens and the alternatives (open the
formgrader in a browser tab of its own; JupyterHub subdomains, under which 'self' is the service's own origin).

deploy/jupyterhub_config.py puts this folder on the service's ``JUPYTER_CONFIG_PATH``.
"""

c = get_config()  # noqa: F821  (provided by Jupyter Server when it loads this file)

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}

# The formgrader's autograde button answers with the command to use instead (`seqlab grade`, sandboxed):
# helpers/seqlab/tools/hub.py.
c.ServerApp.jpserver_extensions = {"seqlab.tools.hub": True}
