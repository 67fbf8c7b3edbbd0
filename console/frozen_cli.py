"""PyInstaller entry of the bundle's console executable (``scim-console``)."""

import sys

from console.cli import main

if __name__ == "__main__":
    sys.exit(main())
