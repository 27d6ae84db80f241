"""The demo district: a believable 区 with its streets, departments, people and demands."""
