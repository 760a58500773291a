"""Bluesky: posts, likes, reposts and follows from Jetstream, follower counts from the AppView."""
