"""``python -m mlp_lab``: see :mod:`mlp_lab.cli`."""

import sys

from .cli import main

sys.exit(main())
