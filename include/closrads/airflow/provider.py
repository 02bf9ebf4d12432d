"""CLOSRADS as an Airflow provider: the two Connection types its hooks serve.

The package's ``apache_airflow_provider`` entry point (``pyproject.toml``) returns this, so every
Airflow process lists a *CLOSRTECH* and a *Facebook Ads (CLOSRADS)* type in its Connection form, with
each field labelled for what it holds, and the form's *Test* button (``airflow connections test``) runs
the hooks' own ``test_connection``. The form's labels are declared here, as Airflow 3.2+ reads them
(``ui-field-behaviour``), not by the hooks' deprecated ``get_ui_field_behaviour``. Airflow validates
the dictionary and imports it in every process that loads providers, so it stays a literal: no
import, no I/O.

Connections of the older generic types (``http`` for CLOSRTECH, ``generic`` for Facebook) keep
working: the hooks read a Connection by its id, whatever its type.
"""

from __future__ import annotations

from typing import Any

CLOSRTECH_CONN_TYPE = "closrtech"
FACEBOOK_ADS_CONN_TYPE = "closrads_facebook_ads"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "closrads",
        "name": "CLOSRADS",
        "description": "CLOSRTECH lead demand to Facebook ad set geo targeting: the CLOSRTECH and Facebook hooks.",
        "connection-types": [
            {
                "connection-type": CLOSRTECH_CONN_TYPE,
                "hook-class-name": "closrads.airflow.hooks.closrtech.ClosrtechHook",
                "hook-name": "CLOSRTECH",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "CLOSRTECH base URL",
                        "login": "Account email",
                        "password": "CLOSRTECH password",
                    },
                    "placeholders": {"host": "https://api.closrtech.com", "extra": '{"campaign": "VND_VETERAN_LEADS"}'},
                },
            },
            {
                "connection-type": FACEBOOK_ADS_CONN_TYPE,
                "hook-class-name": "closrads.airflow.hooks.facebook_ads.FacebookAdsHook",
                "hook-name": "Facebook Ads (CLOSRADS)",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "port"],
                    "relabeling": {"password": "System User token"},
                    "placeholders": {
                        "extra": '{"ad_account_id": "act_...", "campaign_id": "...", "api_version": "v26.0"}',
                    },
                },
            },
        ],
    }
