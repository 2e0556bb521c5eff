"""The engine (one pass over the streams), and later the daemon and backfill."""
