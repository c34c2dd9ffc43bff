"""The bottom layer: how the app keeps its state on disk (SQLite files with ordered schema migrations).

It imports nothing else of the project, so every layer above (tasks, agents, the Workspace, the shells) can use it.
"""
