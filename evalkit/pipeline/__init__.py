"""The stages tied together: a run (problems -> prompts -> backend -> store -> verify -> metrics -> results)
and the re-scoring of responses that already exist."""
