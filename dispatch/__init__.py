"""The heart of ng112: domain model, event log, incident lifecycle and the composition root."""
