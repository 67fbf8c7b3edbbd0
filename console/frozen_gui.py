"""PyInstaller entry of the bundle's windowed executable (``scim-console-gui``)."""

import sys

from console.cli import gui_main

if __name__ == "__main__":
    sys.exit(gui_main())
