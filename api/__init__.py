"""The service's contract as data (``openapi.yaml``, ``table.json``, Postman) and the small code that reads
it: names every part agrees on, the spec and table readers, the one builder of API Gateway proxy events, and
the stack-outputs file. Imports nothing else of the repository, so every other package may import it."""
