"""The MCP server: Task Master's tool names over the same task, breakdown, research and codegen functions the CLI
calls, so an editor agent (Claude Code, Cursor, VS Code) can drive Task Master Local."""
