"""The volunteers service: group registry, availability, assignment of volunteers to slots."""
