"""file-log: one JSON line per request appended to a file."""
