"""HTTP: the API routers and the server-rendered pages for dispatchers and inspectors."""
