"""The notifications service: SMS out and in, reminders, delivery receipts, opt-out."""
