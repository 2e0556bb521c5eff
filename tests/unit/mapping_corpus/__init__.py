"""Broken mapping files, each ending in `# expect:` lines, and the sandbox schema they meet."""
