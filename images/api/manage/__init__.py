"""The JSON management API under /api/: repositories, tags, manifests, search, storage.

Same models, services and permission rules (images.permissions) as the catalog UI.
"""
