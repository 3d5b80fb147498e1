"""reflexion: the small LLM-agent web app that the reflexion.incident lab operates (a test fixture)."""
