"""Local emulators of CLOSRTECH, the Graph API and a Slack webhook, for the demo and the tests.

They speak the real wire formats (the real ``facebook-business`` SDK talks to them; only
``graph_url`` differs), check credentials, page listings, return Graph-shaped errors, and keep a
request log and ad set state that tests and the demo can read. Nothing here ships to production.
"""
