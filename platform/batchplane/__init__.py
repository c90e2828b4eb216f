"""batchplane: declarative AWS Batch platforms for platform teams."""

__version__ = "0.1.0"
