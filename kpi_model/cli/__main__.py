"""``python -m kpi_model.cli``: the same command line as ``kpi-wizard``."""

import sys

from kpi_model.cli import main

if __name__ == "__main__":  # importing the module (as tests walking the package do) runs nothing
    sys.exit(main())
