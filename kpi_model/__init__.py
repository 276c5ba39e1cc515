"""KPI Wizard library: workspace model, template library, checks, compute and export.

Pure Python; never imports streamlit (pages/ -> ui/ -> kpi_model/).
"""

__version__ = "0.1.0"
