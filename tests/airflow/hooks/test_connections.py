"""A Connection's host as a base URL, whatever shape the operator typed it in (the form, the CLI, a URI)."""

import pytest
from airflow.sdk import Connection

from closrads.airflow.hooks.connections import base_url


@pytest.mark.parametrize(
    ("fields", "default_scheme", "url"),
    [
        ({"host": "https://api.closrtech.example"}, "https", "https://api.closrtech.example"),
        ({"host": "https://api.closrtech.example/"}, "https", "https://api.closrtech.example"),
        ({"host": "api.closrtech.example"}, "https", "https://api.closrtech.example"),
        ({"host": "api.closrtech.example", "schema": "http"}, "https", "http://api.closrtech.example"),
        ({"host": "api.closrtech.example", "port": 8443}, "https", "https://api.closrtech.example:8443"),
        ({"host": "https://api.closrtech.example", "port": 8443}, "https", "https://api.closrtech.example:8443"),
        ({"host": "https://api.closrtech.example:9443", "port": 8443}, "https", "https://api.closrtech.example:9443"),
        ({"host": "airflow-apiserver", "port": 8080}, "http", "http://airflow-apiserver:8080"),
    ],
)
def test_the_host_becomes_one_base_url(fields, default_scheme, url):
    conn = Connection(conn_id="any", conn_type="closrtech", **fields)
    assert base_url(conn, conn.host, default_scheme) == url
