"""Report formats: text, json, sarif, github."""
