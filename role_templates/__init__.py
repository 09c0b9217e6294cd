"""Jinja2 templates of generated roles; installed inside the package as ``audit.role_templates``.

Values reach JSON through ``tojson``, HCL through ``hcl``, shell through ``shquote``: never pasted
as raw text.
"""
