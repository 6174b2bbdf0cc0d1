"""Every server the hub starts (deploy/jupyterhub_config.py puts this folder on their ``JUPYTER_CONFIG_PATH``).

JupyterLab does not check for updates, and (labconfig/page_config.json) neither asks about nor fetches Jupyter's
news: the hub's users work in the pinned course environment, and a hub may have no way out to the internet.
"""

c = get_config()  # noqa: F821  (provided by Jupyter Server when it loads this file)

c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
