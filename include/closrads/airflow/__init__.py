"""The Airflow layer of CLOSRADS: hooks, the ``closrads_sync`` task functions, Slack delivery and alerts.

Everything here is a thin shell around :mod:`closrads.core`: it reads Connections and Variables,
talks to CLOSRTECH, Graph and Slack, and moves small JSON values through XCom.
"""
