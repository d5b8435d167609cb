"""One Flask blueprint per endpoint family."""
