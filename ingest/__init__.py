"""Source documents -> typed records -> resolved concepts, with a full ingest report."""
