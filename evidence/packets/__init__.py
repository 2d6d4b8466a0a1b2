"""Audit packets: the context, the PDF rendering and the services that drive them."""
