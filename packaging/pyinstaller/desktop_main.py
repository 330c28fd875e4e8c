"""PyInstaller's entry script for the workstation: the ``dispatch-desktop`` console script."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
