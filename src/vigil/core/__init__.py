"""The shared core: plug-in registries, the error hierarchy, typed states, the actor model, time."""
