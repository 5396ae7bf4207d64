"""Server-rendered catalog pages over the same models and services as the APIs."""
