"""PyInstaller entry of the bundle's launcher ``scim-console``.

On Linux and macOS the bundle has ONE launcher (each PyInstaller launcher embeds its own 15 MB
copy of the Python archive; docs/packaging.md §2): ``scim-console-gui`` is a symlink to it, and
the name it was started by chooses the entry point. Windows keeps a separate windowed launcher
(``frozen_gui.py``) because a console-subsystem exe opens a terminal window.
"""

import os
import sys

from console.cli import gui_main, main

if __name__ == "__main__":
    invoked_as = os.path.basename(sys.argv[0]) if sys.argv else ""
    sys.exit(gui_main() if invoked_as.startswith("scim-console-gui") else main())
