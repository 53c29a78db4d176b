"""Trace how socketserver really works: MRO, owners and call flow."""
