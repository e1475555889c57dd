"""Records -> RDF dataset; SPARQL engine; networkx view and graph algorithms."""
