"""PyInstaller's entry script for the server: the ``dispatch-server`` console script."""

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main())
