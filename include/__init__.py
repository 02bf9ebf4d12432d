"""Pure CLOSRADS domain logic: importable and testable without Airflow, the network or a database."""
