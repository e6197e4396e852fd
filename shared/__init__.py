"""Code both the server and the phone run. Standard library only."""
