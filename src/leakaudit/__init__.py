"""leakaudit: a batch auditor that finds revenue leakage in US medical claims."""

__version__ = "0.1.0"
