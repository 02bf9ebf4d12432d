"""The Airflow layer of CLOSRADS: one package per DAG (:mod:`.sync`, :mod:`.rollback`), the machinery
they share (a task's run, its failures, the write path, the report, guard state, the audit trail),
the hooks and their provider entry point, Slack delivery and alerts, and the operator's pages.

Everything here is a thin shell around :mod:`closrads.core`: it reads Connections and Variables,
talks to CLOSRTECH, Graph and Slack, and moves small JSON values through XCom.
"""
