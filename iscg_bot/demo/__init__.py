"""`iscg-bot demo` (what `make run` starts): a throwaway homeserver and a seeded group."""
