"""Per-target converters, one module each, looked up through ``edgekit.registry``."""
