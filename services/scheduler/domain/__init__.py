"""The scheduler's rules, pure and synchronous: state folds, commands, decisions and errors.

Each rule lives in its own module (sessions, requests, booking, visits, ...); import from there.
Handlers load a stream, fold it (`shared.events.fold` with `evolve_session`, `evolve_request`,
`evolve_visit`), call a `decide_*` function with the time and ids passed in, and append the
events it returns.
"""
