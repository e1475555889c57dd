"""Embeddings, vector and lexical indexes, fused search, gap finding, RAG context."""
