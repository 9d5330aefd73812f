"""``python -m lockgate`` is the ``lockgate`` command."""

import sys

from lockgate.cli.main import main

sys.exit(main())
