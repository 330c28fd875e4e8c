"""The reference dispatch server of dispatch-desktop (protocol v1 over websockets).

Modules: `server.app` (the websocket driver, `DispatchServer`), `server.processor` (the single
writer, group commit), `server.handlers` (pure command decisions), `server.auth`,
`server.store` (durable state), `server.cli` (``dispatch-server``). No Qt here, ever.
"""
