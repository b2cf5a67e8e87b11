"""The scheduler's read models: `projection` (how its own events update them, inline in the
appending transaction), `queries` (what the API and the handlers read) and `mappers` (the views
the API answers with, from their rows)."""
