"""Serving local models: architecture facts, the VRAM planner, launch command lines."""
