"""Simulators at the edge of the world (call feeds, crews), the demo data they use, and the demo
floor that runs them beside an embedded reference server.

The simulators are clients of the server: they drive real workstation cores (`desktop.service`
over `desktop.link`), so they live above both `desktop` and `server` and neither imports them.
Modules: `sim.sffd` (the SFFD calls-for-service CSV), `sim.demo_data` (the demo city in
``resources/demo/``), `sim.callfeed` (`CallFeedSimulator`), `sim.calls` (`CallSimulator`: 911
calls offered as the ``telephony`` role), `sim.avl` (`AvlSimulator`: the vehicles' positions,
reported as the ``avl`` role), `sim.radio` (`RadioGatewaySimulator`: key-ups and emergency
buttons, as the ``radio`` role), `sim.running` (stopping a simulator), `sim.demo_floor`
(`EmbeddedServer`: server plus the simulators in a thread, for ``dispatch-desktop --demo``) and
`sim.demo_cli` (the ``dispatch-server demo`` and ``derive-demo`` commands, a
``dispatch_server.commands`` plugin).
"""
