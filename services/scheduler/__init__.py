"""The scheduler: weekend sessions, help requests, bookings, waitlists and attendance."""
