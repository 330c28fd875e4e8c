"""Geography for dispatch, Qt-free. Import the module you need; the package imports nothing, so
what is cheap stays cheap:

- ``projection``: metric positions over one city (numpy);
- ``plan``: response plans, the input of recommendation (pure Python);
- ``areas``: dispatch areas of a point (numpy);
- ``roads``: the road graph, snapping and travel times (scipy: about 0.3-0.9 s to import and
  load, so a workstation loads it behind its board, see ``advice``);
- ``recommend``: ranking available units by road ETA to fill a plan;
- ``advice``: what to send to one incident (run card, plan, recommendation).
"""
