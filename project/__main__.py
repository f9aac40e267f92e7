"""Entry point of ``python -m project``."""

import sys

from project.cli import main

sys.exit(main())
