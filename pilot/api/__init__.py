"""The JSON API under /api/v1: bearer tokens, the endpoints and their OpenAPI document."""
