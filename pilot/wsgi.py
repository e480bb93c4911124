"""The WSGI entry point for a production server: `gunicorn pilot.wsgi:app` (see `pilot serve`)."""

from pilot import create_app

app = create_app()
