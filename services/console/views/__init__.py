"""The console's read models: `projection` (how its own events update them, inline in the
appending transaction) and `queries` (what the pages and the handlers read)."""
