"""Flask CLI commands, one module per feature."""
