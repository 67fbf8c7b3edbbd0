"""``python -m console``: same as the ``scim-console`` script."""

import sys

from console.cli import main

sys.exit(main())
