"""Thin adapters that serve the library: the HTTP API (``server.app``) and the MCP server (``server.mcp``)."""
