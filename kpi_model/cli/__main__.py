"""``python -m kpi_model.cli``: the same command line as ``kpi-wizard``."""

import sys

from kpi_model.cli import main

sys.exit(main())
