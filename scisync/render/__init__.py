"""Views of plans and apply progress: text, JSON and progress displays.

The only package (besides the CLI) that formats output.  Renderers never decide
anything about a plan; they format the data the planner and applier produced.
"""
