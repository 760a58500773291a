"""brandpulse: self-hosted, real-time social media monitoring for brand teams."""

__version__ = "0.1.0"
