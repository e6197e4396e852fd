"""The Fixflow API service."""
