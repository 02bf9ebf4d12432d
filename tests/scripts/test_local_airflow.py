"""``make airflow``'s start-up checks: a port another process holds fails at once, naming it."""

import socket

import pytest

from scripts import local_airflow


@pytest.fixture
def ports(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    chosen = {}
    for setting in local_airflow.PORT_SETTINGS:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            chosen[setting] = probe.getsockname()[1]
        monkeypatch.setenv(setting, str(chosen[setting]))
    return chosen


def test_free_ports_pass(ports):
    assert local_airflow.busy_ports() == []


def test_a_busy_port_stops_the_start_with_a_clear_message(ports, capsys, monkeypatch):
    monkeypatch.setattr(local_airflow.subprocess, "Popen", lambda *a, **k: pytest.fail("started Airflow anyway"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports["AIRFLOW__API__PORT"]))
        holder.listen()
        assert local_airflow.start() == 1
    error = capsys.readouterr().err
    assert f"port(s) in use: {ports['AIRFLOW__API__PORT']} (the UI / REST API, AIRFLOW__API__PORT)" in error
    assert "make airflow AIRFLOW_PORT=18080" in error


def test_stop_without_a_running_airflow_says_so(ports, capsys):
    assert local_airflow.stop() == 0
    assert "no local Airflow started by `make airflow` is running" in capsys.readouterr().out
