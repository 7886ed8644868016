"""Where completions come from: the Backend protocol, in-process vLLM, and any OpenAI-compatible server."""
