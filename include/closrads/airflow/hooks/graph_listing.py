"""The ad set listing of one campaign, every page of it, bounded: what
``FacebookAdsHook.list_campaign_adsets`` reads through the hook's SDK API object (its errors are the
hook's to translate)."""

from __future__ import annotations

from typing import Any

from closrads.core.errors import GraphError

LISTING_PAGE_SIZE = 100
# 100 pages of 100 ad sets: far above any real campaign, and a bound on a listing that never ends.
MAX_LISTING_PAGES = 100


def all_listing_pages(api, campaign_id: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every ad set row of the campaign (``fields`` of each), through ``api`` (the hook's own SDK API
    object). Follows the listing's cursors, bounded: a repeated cursor, a repeated ad set id or more than
    :data:`MAX_LISTING_PAGES` pages stop it (a buggy proxy must not drain the ad account's quota)."""
    params: dict[str, Any] = {"fields": ",".join(fields), "limit": LISTING_PAGE_SIZE}
    rows: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    seen_cursors: set[str] = set()
    for page in range(1, MAX_LISTING_PAGES + 1):
        body = api.call("GET", (campaign_id, "adsets"), params=params).json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise GraphError(f"page {page} of the ad set listing of campaign {campaign_id} has no data list")
        for row in data:
            adset_id = str(row.get("id") or "") if isinstance(row, dict) else ""
            if not adset_id:
                raise GraphError(f"the ad set listing of campaign {campaign_id} has an entry without id")
            if adset_id in seen_ids:
                raise GraphError(
                    f"the ad set listing of campaign {campaign_id} returned ad set {adset_id} twice (page {page}); "
                    "stopped instead of following a listing that repeats itself"
                )
            seen_ids.add(adset_id)
            rows.append(row)
        cursor = next_cursor(body)
        if cursor is None:
            return rows
        if cursor in seen_cursors:
            raise GraphError(
                f"the ad set listing of campaign {campaign_id} repeated a paging cursor (page {page}); "
                "stopped instead of following a listing that repeats itself"
            )
        seen_cursors.add(cursor)
        params = params | {"after": cursor}
    raise GraphError(
        f"the ad set listing of campaign {campaign_id} did not end within {MAX_LISTING_PAGES} pages of "
        f"{LISTING_PAGE_SIZE}; stopped"
    )


def next_cursor(body: dict) -> str | None:
    """The cursor of the page after this one (Graph's ``paging``), ``None`` on the last page."""
    paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
    cursor = (paging.get("cursors") or {}).get("after") if isinstance(paging.get("cursors"), dict) else None
    return str(cursor) if paging.get("next") and cursor else None
