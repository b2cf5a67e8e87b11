"""The notifications service's read models: `projection` (how its own events update them, inline
in the appending transaction) and `queries` (what the API, the handlers and the sender read)."""
