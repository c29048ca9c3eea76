"""The group's business as plain functions over a unit of work: organisation, meetings, recurrence, time
parsing, minutes, actions, reports. It imports neither the chat layer nor the gateway."""
