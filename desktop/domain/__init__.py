"""The dispatch domain shared by client and server: entities, commands, events and rules."""
