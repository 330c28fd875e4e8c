"""``python -m server``: the ``dispatch-server`` command line."""

from server.cli import main

raise SystemExit(main())
