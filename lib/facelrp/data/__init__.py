"""The data: parametric faces and their renderer, procedural objects, face sets and their loaders."""
