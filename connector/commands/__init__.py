"""`leadbridge` command families, one module each, registered in `connector/cli.py`."""
