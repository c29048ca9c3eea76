"""ISCG bot: electronic meetings of ITU's Inter-Sector Coordination Group, run from Matrix rooms."""

__version__ = "0.1.0"
