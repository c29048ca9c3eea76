"""Helpers shared by the tests: a real-homeserver Matrix user client."""
