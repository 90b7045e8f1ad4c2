"""Either side: bench results rendered as tables and files, and the regression gate."""
