"""Scheduled autonomous runs: schedules in a SQLite table, fired by a long-running APScheduler process.

`store` keeps schedules and run records, `model` turns a schedule into an APScheduler trigger, `runner` runs
one `taskmaster run … --json` subprocess and reads its result, and `service` is the scheduler process.
"""
