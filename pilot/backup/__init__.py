"""Backup and restore of a whole instance: database, uploaded files and archived reports."""
