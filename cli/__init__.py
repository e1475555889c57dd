"""The ``ckg`` command line: thin typer commands over the library."""
