"""What the Airflow layer's unit tests share: a task instance and Variables that answer as the Task SDK's do.

A task body resolves its campaign and run once (``TaskRun``) and hands its helpers values, so the
helpers run here without Airflow's context; what Airflow itself keeps (XCom, Variables, asset
events) is a small fake that records what was asked of it. The sandbox is real HTTP.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from closrads.airflow import guard_state
from closrads.airflow.task_run import TaskRun
from closrads.core.campaigns import DEFAULT_CAMPAIGN


class FakeTaskInstance:
    """The Task SDK's task instance as the CLOSRADS helpers use it: XCom in and out."""

    def __init__(self, dag_id="closrads_sync", run_id="manual__1", try_number=1, xcom: dict | None = None) -> None:
        self.dag_id, self.run_id, self.try_number = dag_id, run_id, try_number
        self.pushed: dict[str, list] = defaultdict(list)
        self.xcom = xcom or {}  # (task_id, key) -> value

    def xcom_push(self, key, value) -> None:
        self.pushed[str(key)].append(value)

    def xcom_pull(self, task_ids, key):
        return [self.xcom.get((task_id, str(key))) for task_id in task_ids]


class FakeOutletEvents:
    """``context["outlet_events"]``: what a task adds to an asset alias (Airflow stores it on success)."""

    def __init__(self) -> None:
        self.added: list[tuple[Any, Any, dict]] = []

    def __getitem__(self, alias):
        outer = self

        class Accessor:
            def add(self, asset, extra=None):
                outer.added.append((alias, asset, extra or {}))

        return Accessor()


class FakeVariable:
    """``Variable.get`` with the SDK's habit (any failure reads as the default), ``keys``, and ``set``."""

    def __init__(self, value=None, keys=(), keys_error=None, get_error=None, set_error=None, by_name=None):
        self.value, self.stored_keys, self.keys_error, self.get_error = value, list(keys), keys_error, get_error
        self.set_error, self.by_name = set_error, by_name  # by_name: {Variable: value}, the rest unset
        self.listed = 0
        self.written: list[tuple[str, Any]] = []
        self.descriptions: dict[str, str | None] = {}

    def get(self, key, default=None, deserialize_json=False):
        if self.get_error:
            raise self.get_error
        if self.by_name is not None:
            value = self.by_name.get(key)
        else:  # a list: one answer per read
            value = self.value.pop(0) if isinstance(self.value, list) else self.value
        return default if value is None else value

    def keys(self, prefix=None):
        self.listed += 1
        if self.keys_error:
            raise self.keys_error
        stored = self.stored_keys + list(self.by_name or {})
        return [key for key in stored if key.startswith(prefix or "")]

    def set(self, key, value, description=None, serialize_json=False):
        if self.set_error:
            raise self.set_error
        self.written.append((key, value))
        self.descriptions[key] = description


@pytest.fixture
def variable(monkeypatch):
    """Make every guard Variable answer as given: ``variable(value=..., keys=..., get_error=...)``."""

    def answering(**kwargs) -> FakeVariable:
        fake = FakeVariable(**kwargs)
        monkeypatch.setattr(guard_state, "Variable", fake)
        return fake

    return answering


@pytest.fixture
def task_run():
    """A running task of the default campaign's sync, with a fake task instance and outlet events."""

    def running(dag_id="closrads_sync", params=None, **ti) -> TaskRun:
        fake_ti = FakeTaskInstance(dag_id=dag_id, **ti)
        return TaskRun(DEFAULT_CAMPAIGN, dag_id, fake_ti.run_id, fake_ti, params or {}, FakeOutletEvents())

    return running
