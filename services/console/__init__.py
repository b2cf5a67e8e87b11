"""The coordinator console: web pages for admins, coordinators and volunteers."""
