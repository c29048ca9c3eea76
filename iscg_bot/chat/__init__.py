"""The chat framework: events, the command router and its arguments, the dispatcher (exactly once), the
outbox, the permission policy, and the reminders the bot sends unprompted."""
