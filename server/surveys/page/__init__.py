"""The customer's survey page, ``/s/{token}``."""
