"""What a report may hold and be printed on: the choices the CLI offers without loading the report's modules."""

SECTIONS = ("cover", "map", "units", "definitions", "audit")
PAPER = {"a4": "A4 landscape", "letter": "letter landscape"}
