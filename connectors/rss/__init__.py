"""The RSS/Atom connector: news and blog posts that mention a brand's keywords."""
