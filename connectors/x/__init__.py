"""X (formerly Twitter): the API v2 filtered stream, its rules, recent-search catch-up after a
gap, and the brand handles' follower counts."""
