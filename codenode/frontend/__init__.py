"""The frontend: the web application, run by ``codenode frontend`` (docs/frontend.md).

Users, notebooks and cells in a database, the browser UI, and the bus that carries each open
notebook's requests to its engine on one of the registered backends.
"""
