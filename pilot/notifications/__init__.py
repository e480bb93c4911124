"""In-app notifications: what happened on a case that concerns a user, with a bell on every page."""
