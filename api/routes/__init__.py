"""The API's routes, one module per domain; importing a module registers its routes."""
