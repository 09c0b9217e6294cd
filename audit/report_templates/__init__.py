"""Jinja templates of the HTML access report (package data)."""
