"""Account services: organisation management and access tokens (used by the pages, the JSON API and the admin)."""
