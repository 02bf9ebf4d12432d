"""Compare ``fb_region_keys.json`` (``include/closrads/core/``) with Facebook's region search, and
optionally rewrite it.

    make region-keys            # show differences, exit 1 if there are any
    make region-keys WRITE=1    # rewrite the file from the search result

Uses the ``facebook_ads_default`` Connection (any Connection with a valid token works:
``--conn-id``). Facebook's region keys have been stable for years (docs/design.md, "Region
keys"); run this when Meta announces a change, review the diff, and commit the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.core.regions import REGION_KEYS_FILE, diff_region_keys, region_keys_from_search


def search_us_regions(hook: FacebookAdsHook) -> list[dict[str, Any]]:
    """Graph's region search for the US (``adgeolocation``), through the hook's Connection and guards.

    Calls ``api.call`` directly: the SDK's ``TargetingSearch.search`` builds its URL from the
    class-level default Graph URL and SDK version, ignoring the Connection's ``graph_url`` and
    ``api_version``.
    """
    params = {"type": "adgeolocation", "location_types": ["region"], "country_code": "US", "limit": 1000}

    def search() -> list[dict[str, Any]]:
        body = hook.api.call("GET", ("search",), params=params).json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ValueError("the region search answer has no data list")
        return body["data"]

    return hook.call("searching US regions", search)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conn-id", default=FacebookAdsHook.default_conn_name)
    parser.add_argument("--write", action="store_true", help="rewrite the key file when it differs")
    parser.add_argument("--file", type=Path, default=REGION_KEYS_FILE)
    args = parser.parse_args(argv)

    fresh = region_keys_from_search(search_us_regions(FacebookAdsHook(args.conn_id)))
    current = json.loads(args.file.read_text()) if args.file.exists() else {}
    changes = diff_region_keys(current, fresh)
    if not changes:
        print(f"{args.file.name}: all {len(fresh)} region keys match Facebook's region search")
        return 0
    print(f"{args.file.name} differs from Facebook's region search:")
    print("\n".join(f"  {line}" for line in changes))
    if args.write:
        args.file.write_text(json.dumps(fresh, indent=2) + "\n")
        print(f"wrote {args.file}; review and commit it")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
