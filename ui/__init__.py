"""Streamlit-side helpers shared by the pages: state, feedback, forms, sidebar."""
