"""The dispatch domain shared by client and server, split by aggregate.

- `types`: the entities (incidents, units, their statuses) both sides hold;
- `kinds`: how a command kind and an event kind are declared (one record each: arguments or
  data, roles, rule or effect, wording);
- `incidents`, `units`, `alerts`: the aggregates, each ending with its ``COMMANDS`` and
  ``EVENTS``; calls, radio and positions will be modules like them;
- `catalog`: every kind gathered from the aggregates, `decide`, and the lookups;
- `world`: `World`, the state, changed only by applying events;
- `roles`: who may sign in as what and issue which command;
- `checks`, `wording`: the checks and the words the aggregates share.
"""
