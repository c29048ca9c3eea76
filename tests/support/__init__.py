"""Helpers shared by the tests, one job per module (a real-homeserver Matrix user, the story bot, sample
reports, `eventually`, …). Test modules take what they share from here or from the conftest plugins, never
from one another (tests/test_test_suite_shape.py)."""
