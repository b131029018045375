"""Local stand-ins for outside services (bound to 127.0.0.1 on an OS-chosen port)."""
