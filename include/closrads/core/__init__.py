"""The pure CLOSRADS domain: demand validation, region mapping, the targeting plan, run mode, the report.

Nothing in this package imports Airflow, talks to a network or touches a database (a test checks
it), so every rule here is unit-tested in milliseconds and reads the same outside Airflow.
"""
