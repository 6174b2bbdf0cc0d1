"""Optional: let JupyterLab show the formgrader in a tab again, under JupyterHub >= 4.1 (read the caveat).

JupyterHub 4.1 made single-user servers send ``Content-Security-Policy: frame-ancestors 'none'`` so that one
user's pages cannot be framed by another's on the same origin.  nbgrader's formgrader tab in JupyterLab is an
iframe, so it stays blank (nbgrader issue #1870).  Allowing same-origin framing on the *graders' service only*
restores the tab; it re-opens, for that server, the same-origin risk JupyterHub closed, so prefer the safe
alternatives in docs/deployment.md (open the formgrader in its own browser tab, or JupyterHub subdomains).

Use: copy into the grader account's ~/.jupyter/jupyter_server_config.py (the service's server only).
"""

c = get_config()  # noqa: F821  (provided by Jupyter Server when it loads this file)

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
