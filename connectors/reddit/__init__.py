"""Reddit: new posts and comments of subreddits, searches, and subreddit subscriber counts."""
