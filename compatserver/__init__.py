"""socketserver that behaves the same on Python 2.7 and 3.6-3.13."""

__version__ = "0.1.0"
