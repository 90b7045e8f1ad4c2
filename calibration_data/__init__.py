"""Built-in generated datasets (``shapes-det``, ``shapes-cls``): generator and on-demand writer."""
