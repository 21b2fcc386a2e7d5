"""Interactive widgets, one module per chapter topic, each thin over a pure function.

See :mod:`edu_cnn.widgets.base` for the pattern. Modules are imported on demand so that
``import edu_cnn`` does not need a notebook front end.
"""
