"""Storage: tables, engine, migrations and the Store that the daemon talks to."""
