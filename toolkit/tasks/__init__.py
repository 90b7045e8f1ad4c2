"""Tasks: detection and classification pre/post-processing and metrics (numpy only)."""
