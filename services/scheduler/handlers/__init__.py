"""Where the scheduler's commands run: load the streams, let the domain decide, append.

Called by the HTTP API, the consumers and the timers, always inside one open transaction
(`tx`), so the events, the read models they project into and the timers they set commit
together. Automatic follow-ups happen in the same transaction: a freed place goes to the
waitlist, a new session fills from it, a request is booked into the best session at once.

One module per reason to change: `streams` (a session or home visit as a transaction reads
and writes it), `places` (the places import, a commune's villages), `sessions`, `placing`
(every placing of a resident), `bookings` (cancel, change, the waitlist refill), `visits`
and `reactions` (what other services said).
"""
