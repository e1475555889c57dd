"""The ``ckg:`` vocabulary's IRI alone, for code that must not pay for importing rdflib (the query helper)."""

CKG_IRI = "https://w3id.org/ckg/vocab#"
