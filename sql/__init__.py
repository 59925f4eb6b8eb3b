"""The SQL files, shipped inside the logduct package as ``logduct.sql`` (read them with sqlfiles)."""
