"""Mastodon: hashtags, the public timeline and the brand account's notifications and followers."""
