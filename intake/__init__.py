"""intake: AI-assisted purchase-order intake for distributors that run Odoo."""

__version__ = "0.1.0"
